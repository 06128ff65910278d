"""Developer tools: the model-file loader fuzzer (``python -m tools.fuzz_loader``)."""
