"""What a web node or worker needs to classify a report: the scorer and its compiled kernels, the grid
locator, the confidence gate and the registry that builds and refreshes the active classifier.

Never imports `classifiers.training` or scikit-learn at import time (tests/unit/test_classifier_layout.py):
a serving process loads a model's serving tables with numpy alone."""
