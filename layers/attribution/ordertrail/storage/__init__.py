"""The only AWS callers: the single table, tenant secrets, files and Step Functions executions."""
