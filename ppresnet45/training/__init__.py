"""Training: the loop (:mod:`.trainer`), optimizers and schedules, checkpoints, evaluation."""
