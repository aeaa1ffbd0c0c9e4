"""Running the benchmark: plan jobs, execute them (locally or on Ray), keep the results store.

Modules, one job each:

``plan``           jobs (method x sample x prompt x seed), groups (method, sample), shards
``execute``        one group on a worker: reference, fit once (or the cached state), generate
``executors``      the local executor; ``ray_executor`` the Ray one (one task per group)
``runner``         the driver: resume, write videos then records, summary, scoring stage
``store``          the run directory: locks, JSONL records, run.json I/O, finished-job check
``info``           run.json as typed records (settings, request, versions, git, device, backends)
``scoring``        finished videos through the metrics' Scorer, once per (job, metric, backend)
``adopt``          videos made by another tool, adopted into a run for scoring
``measure``        time and peak memory of one phase (CUDA allocator or CPU RSS growth)
``env``            versions, git state, device, captured for run.json
``references``     a manifest sample as the Reference a method sees
``records``        the typed records of generations.jsonl and scores.jsonl
``jsonl``          appending and reading those files: fresh lines after a torn one, bad lines named

Choices worth knowing:

- Rerunning the same command resumes. A job is finished when its last record is ``ok`` and its
  video decodes; failed jobs are retried. Changing a method's options, ``--num-frames`` or
  ``--size`` for an existing run is refused (the finished videos would mix settings): the run's
  ``RunSettings`` are compared with the command's.
- ``--fresh`` never deletes: it renames the run directory to ``<dir>.old-<UTC time>`` and starts over.
- ``--method-opt key=value`` applies to the only method; with several methods write
  ``--method-opt method.key=value`` (an unprefixed option is then refused, not guessed at).
- One writer per run directory (``run.lock``, fcntl.flock with the holder's pid); shards of one run
  may write to it at the same time, each shard once.
- SIGTERM stops a run as Ctrl-C does (commands killed, lock released, partial files removed); a
  full disk stops it with a StoreError; in both cases the same command finishes the rest.
- Each score names the sha256 of the video it scored: a regenerated video is scored again.
- ``--shard i/n`` keeps the groups whose key hashes to ``i`` mod ``n``: independent of workers, so
  shards merge into exactly the unsharded run.
"""
