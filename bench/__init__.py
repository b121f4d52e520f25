"""`manifold bench`: how fast inference, training, start-up and memory are on this machine.

Every speed is a ratio measured side by side in one run (docs/ARCHITECTURE.md, "Where
decisions were measured"): the candidates take turns round after round (the order flips every
round), each ratio is the median of the per-round ratios, each rate the median over rounds
(harness.py). Absolute times appear only next to a ratio or against a fixed target (start-up
wall time, peak memory, the upscaling rate).

Where things are:

    registry.py   a section's interface (`Section`) and the registry (`@register`, `SECTIONS`)
    sections/     one module per section: its run, its tables, its targets (and its plot panel)
    suite.py      the whole run: the chosen sections in order, their tables, targets and figure
    context.py    what every section shares: the model, the held-out tiles, notes, a work folder
    harness.py    interleaved timing, medians, ratios
    machine.py    CPU, cores, instruction sets, library versions (the head of every run)
    anchor.py     the seed-style eager anchor the runtime of a global-kind model is measured against
    torch_model.py  the exported model as PyTorch (FLOPs are counted on it)
    references.py what else the runtime is compared with: the embedded models, Real-ESRGAN-ncnn
    processes.py  `manifold` run as a child process, timed, its peak RSS read
    levers.py     the trainer's speed levers and a step built with them (also used by the tests)

Adding a section is one module in sections/ with a `@register`ed `Section` subclass: nothing
else lists the sections. What cannot run here (no anchor for a model, no Real-ESRGAN without
the [eval] extra, no embedded seed model) is skipped and said in `notes`.

Layering: manifold_bench imports manifold_core, manifold_train, manifold_export and
manifold_eval, never manifold_cli (the CLI imports it). torch is imported only inside the
functions that need it, except by anchor.py, torch_model.py and levers.py, which only those
functions import.
"""
