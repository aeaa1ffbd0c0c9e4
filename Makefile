# make run  : install, run the benchmark's main job on the embedded synthetic benchmark, print the leaderboard
# make test : install, run the whole test suite
# make mutate: mutation testing of the central modules with cosmic-ray (a seeded sample; about an hour on 2 busy cores; not CI)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_DIR ?= results/default
# The four weight-free anchors, then the tuned methods on the tiny random Wan2.1 (CPU-sized presets), on the
# manifest's clips cut to 17 frames (its 81 are for real weights on a GPU; 17 keeps the run CPU-sized).
FRAMES  ?= --clip-frames 17
METHODS ?= --method reference --method static --method shuffle --method noise \
           --method fym --method-opt fym.preset=tiny \
           --method two-stage-lora --method-opt two-stage-lora.preset=tiny \
           --method motiondirector --method-opt motiondirector.preset=tiny \
           --method ditflow --method-opt ditflow.preset=tiny

.PHONY: install run test test-tools mutate device-check clean

$(STAMP): pyproject.toml setup.py constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@# setuptools leaves a motionbench.egg-info here that later installs do not refresh; run from this folder,
	@# its stale entry points would hide the installed ones (new methods and metrics would not be found).
	@rm -rf motionbench.egg-info
	@touch $(STAMP)

install: $(STAMP)

# System tools some tests drive for real: headless Chromium (the HTML report plays its videos) and
# pdflatex (the LaTeX table compiles). Debian's packages, installed once when missing.
TEST_TOOLS := chromium:chromium pdflatex:texlive-latex-base pdflatex:texlive-latex-recommended
test-tools:
	@missing=""; for t in $(TEST_TOOLS); do cmd=$${t%%:*}; pkg=$${t#*:}; \
	  if ! command -v $$cmd >/dev/null 2>&1 || { [ $$pkg = texlive-latex-recommended ] && ! kpsewhich booktabs.sty >/dev/null 2>&1; }; then missing="$$missing $$pkg"; fi; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages for the browser and LaTeX tests:$$missing"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "cannot install$$missing here: the tests that need them will be skipped, saying why"; fi; fi

run: install
	HF_HUB_OFFLINE=1 $(BIN)/motionbench run $(METHODS) $(FRAMES) --out $(RUN_DIR)
	@test -f $(RUN_DIR)/metaeval.json || $(BIN)/motionbench metaeval --builtin --tracker gt --tracker lk --out $(RUN_DIR)/metaeval.json
	$(BIN)/motionbench report $(RUN_DIR) --html $(RUN_DIR)/report.html

test: install test-tools
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

# Mutation testing (mutation/mutate.py): each central module's mutants against the tests that guard it,
# in a scratch copy of the checkout. MUTATE_ARGS narrows it, e.g.
#   make mutate MUTATE_ARGS="motionbench/report/bootstrap.py --sample 0 --minutes 0"  (all of one module)
MUTATE_ARGS ?=
mutate: install
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[mutation]'
	@rm -rf motionbench.egg-info
	nice -n 15 $(BIN)/python mutation/mutate.py $(MUTATE_ARGS)

# The GPU check (benchmarks/device_check.py): `make device-check` on a GPU machine (9 minutes at most),
# `make device-check ARGS=--smoke` anywhere (CPU, tiny sizes). It needs no install step: the GPU
# machine has no network, so it runs with whatever python3 is there (see benchmarks/prepare_device.py).
ARGS ?=
device-check:
	PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 $(if $(wildcard $(BIN)/python),$(BIN)/python,python3) benchmarks/device_check.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
