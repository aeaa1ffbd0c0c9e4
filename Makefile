# make run  : install, run the benchmark's main job on the embedded synthetic benchmark, print the leaderboard
# make test : install, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_DIR ?= results/default
METHODS ?= --method reference --method static --method shuffle --method noise

.PHONY: install run test browser clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Headless Chromium for the HTML-report test (Debian's package), installed once when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the HTML-report test"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found and cannot be installed here: the HTML-report browser test will be skipped"; fi; }

run: install
	HF_HUB_OFFLINE=1 $(BIN)/motionbench run $(METHODS) --out $(RUN_DIR)
	$(BIN)/motionbench report $(RUN_DIR)

test: install browser
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache
