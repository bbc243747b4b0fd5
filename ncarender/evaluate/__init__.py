"""``ncarender eval``: how close a model grows to its targets, one evaluator per kind of model."""
