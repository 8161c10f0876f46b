"""Record schemas, readers and writers, the training-example format."""
