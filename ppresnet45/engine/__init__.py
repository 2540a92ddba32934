"""Engine: training, evaluation, export, prediction, benchmarking. Imported lazily by the CLI."""
