"""A server's first start. On a machine whose cache folder is empty the dictionary tables are
built in a child process, so that reading the dictionaries whole does not stay in the server's
memory (about 50 MB: 169 against 118 MB after ten questions at 100,000 articles). The index's
files are asked into the kernel's page cache, so that the first questions do not each wait on
the disk (at 1M articles on a cold cache, about 35 against 19 ms a question)."""

from __future__ import annotations

import gzip
import itertools

from retrieval import lexicon, segments


def test_a_warm_up_builds_the_missing_dictionary_tables_in_a_child_process(seeded_library, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert lexicon.tables_missing()
    opened = []
    real_open = gzip.open

    def recording_open(*args, **kwargs):
        opened.append(args[0])
        return real_open(*args, **kwargs)

    monkeypatch.setattr(gzip, "open", recording_open)  # how this process would read CC-CEDICT to build its table
    seeded_library.warm_up()
    assert not lexicon.tables_missing()
    assert opened == []
    assert seeded_library.ask("稀土出口管制").answered  # and the server reads them


def test_a_warm_up_with_the_tables_built_starts_no_child(seeded_library, monkeypatch):
    import subprocess

    lexicon.build_tables()
    started = []
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: started.append(args))
    seeded_library.warm_up()
    assert started == []


def test_a_warm_up_asks_the_kernel_to_read_every_file_of_the_index_whole(seeded_library, monkeypatch):
    import os

    lexicon.build_tables()
    asked: dict[str, list[tuple[int, int]]] = {}
    real_advise = os.posix_fadvise

    def recording_advise(handle, offset, length, advice):
        if advice == os.POSIX_FADV_WILLNEED:
            asked.setdefault(os.readlink(f"/proc/self/fd/{handle}"), []).append((offset, length))
        return real_advise(handle, offset, length, advice)

    monkeypatch.setattr(segments, "PRELOAD_CHUNK", 4096)  # several calls a file, as for a large index
    monkeypatch.setattr(os, "posix_fadvise", recording_advise)
    seeded_library.warm_up()
    names = [segment.name for segment in seeded_library.index().segments]
    files = sorted(str(path.resolve()) for name in names for path in (seeded_library.index_folder / name).glob("*.npy"))
    assert files and sorted(asked) == files
    for path, ranges in asked.items():
        covered = sorted(ranges)
        assert covered[0][0] == 0 and all(a + n == b for (a, n), (b, _) in itertools.pairwise(covered))
        assert covered[-1][0] + covered[-1][1] == os.path.getsize(path)


def test_preloading_a_segment_merged_away_meanwhile_reads_what_is_left(seeded_library):
    names = [segment.name for segment in seeded_library.index().segments]
    size = sum(path.stat().st_size for name in names for path in (seeded_library.index_folder / name).glob("*.npy"))
    assert segments.preload(seeded_library.index_folder, [*names, "s999999"]) == size > 0
