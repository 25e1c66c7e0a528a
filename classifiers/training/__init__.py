"""Making and judging category models: the scikit-learn recipe, training and evaluation, cross-validation,
the shipped default, agents' corrections as labelled examples and the retrain use case.

Uses `classifiers.serving` (a trained model is saved in the form serving reads); serving never uses this."""
