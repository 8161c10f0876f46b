"""seaembed.export: a model to ONNX or OpenVINO (fp32 or int8), with a parity report against fp32 torch."""
