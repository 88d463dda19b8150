"""Code shared by every function of the app: the ride model, observability, data access."""
