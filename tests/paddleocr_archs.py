"""PaddleOCR's Architecture sections, as its configs write them, for tests that run without
``../shared`` (where the real config files are)."""

# configs/rec/rec_r45_visionlan.yml
VISIONLAN_ARCH = {
    "model_type": "rec",
    "algorithm": "VisionLAN",
    "Transform": None,
    "Backbone": {"name": "ResNet45", "strides": [2, 2, 2, 1, 1]},
    "Head": {
        "name": "VLHead",
        "n_layers": 3,
        "n_position": 256,
        "n_dim": 512,
        "max_text_length": 25,
        "training_step": "LA",
    },
}
