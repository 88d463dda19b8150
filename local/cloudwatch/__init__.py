"""CloudWatch, as the local cloud needs it beyond what moto stores: the metrics AWS services publish on
their own (sent here by the services' emulations), and what CloudWatch does with them.
"""
