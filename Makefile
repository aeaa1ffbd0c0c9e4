# make run  : install, run the benchmark's main job on the embedded synthetic benchmark, print the leaderboard
# make test : install, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_DIR ?= results/default
# The four weight-free anchors, then the tuned methods on the tiny random Wan2.1 (CPU-sized presets).
METHODS ?= --method reference --method static --method shuffle --method noise \
           --method fym --method-opt fym.preset=tiny \
           --method two-stage-lora --method-opt two-stage-lora.preset=tiny \
           --method motiondirector --method-opt motiondirector.preset=tiny \
           --method ditflow --method-opt ditflow.preset=tiny

.PHONY: install run test test-tools clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
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
	HF_HUB_OFFLINE=1 $(BIN)/motionbench run $(METHODS) --out $(RUN_DIR)
	@test -f $(RUN_DIR)/metaeval.json || $(BIN)/motionbench metaeval --tracker gt --tracker lk --out $(RUN_DIR)/metaeval.json
	$(BIN)/motionbench report $(RUN_DIR) --html $(RUN_DIR)/report.html

test: install test-tools
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache
