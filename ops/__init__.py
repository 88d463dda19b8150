"""Operating a stack, local or deployed: plain functions the command-line tools (scripts/) call."""
