"""DynamoDB, as the local cloud needs it beyond moto: transactions that stay exact when many threads write
(`transactions.py`).

AWS documents these in the DynamoDB developer guide: "Amazon DynamoDB Transactions".
"""
