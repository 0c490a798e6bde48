"""The device-adapter conformance suite: what any adapter of the device protocol must do."""
