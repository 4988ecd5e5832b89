"""gansweep: reproducible comparisons of GAN activations, regularizations and losses.

The modules form layers; a module imports from its own layer or the ones below, never above, and
no import circles (tests/test_structure.py holds the same list as LAYERS and checks both):

1. foundation: registry (names and errors), seeding, overrides, paths, tracking (MLflow), and the
   pure helpers budget, stats, grids, ema, regularizers;
2. parts, each chosen by name from params.yaml: nn (architectures, activations, norms), augment,
   losses, data (sources, folders, prepared arrays), metrics (Inception, FID, KID, ...);
3. configuration: config (params.yaml -> typed config), space (search spaces), protocol;
4. one run: stage (the pipeline scripts' frame), module (the LightningModule), callbacks,
   generators, train, evaluate;
5. studies: storage, study, study_results, report (a package: read, comparison, plots, page);
6. the command line: cli.
"""
