"""OrderTrail attribution layer: models, rules, sources and the DynamoDB repository shared by every function."""
