"""Cases whose ``forward`` takes Python numbers or an input the exporter drops (onnx-diagnostic's SignatureInt1,
SignatureInt2 and SignatureFloat1, and kin), and whose outputs hold NaNs or complex numbers: what a runtime is
fed, and how its outputs are compared."""
