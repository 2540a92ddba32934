"""Training: the loop (:mod:`.trainer`) and what it is made of.

* :mod:`.components` — model, loss, decoder, metric, optimizer and loaders from a config
  (shared by train, eval and export);
* :mod:`.optim` — the registered optimizers and learning-rate schedules;
  :mod:`.param_groups` — which parameters they train (VisionLAN's ``group_lr`` / ``training_step``);
* :mod:`.steps` — a step's family-dependent pieces: targets to the head, loss parts, decoding;
* :mod:`.checkpoint` — the checkpoint files, saving, the run state a resume starts from;
* :mod:`.weights` — weights from files into a model: exactly (resume) or as far as they match (pretrained);
* :mod:`.evaluator` — evaluation of a model or a checkpoint, and its reports;
* :mod:`.settings`, :mod:`.devices`, :mod:`.batches`, :mod:`.run_log` — the ``Global``
  keys, device and processes, batch layout, and the run's logs;
* :mod:`.plot` — training curves from ``train_log.jsonl``;
* :mod:`.speed` — images/s of real training steps in each execution mode (eager, to_static,
  data-parallel, bf16), each in fresh processes;
* :mod:`.demo_recipe`, :mod:`.demo_mode` — ``train-demo``'s recipe, and its timed choice
  between one eager process and two to_static ones.
"""
