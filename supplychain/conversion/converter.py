"""``convert()``: scan, interpret and plan every checkpoint, then write, verify, commit together.

Order of work, so that a refusal or a failure never leaves a file behind:
1. walk the source (the one model walker) and decide every output name;
2. per checkpoint: scan it (a high finding refuses), open and interpret it,
   select and plan its tensors; any refusal stops here, before any write;
   so do the budgets: an output far larger than its storages, or one that does
   not fit the free space;
3. write every output to a temporary file beside its target, hashing its
   source in the read that copies it and the output as it is read back,
   self-check it (and cross-check with torch if asked);
4. only when everything passed: fsync and rename all outputs into place.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from supplychain._internal import safeopen
from supplychain._internal.atomic import WRITE_ERRNOS, StagedFiles, write_error
from supplychain._internal.progress import byte_progress
from supplychain.conversion import budget, safety, sharding, torchcheck
from supplychain.conversion.checkpoint import CONVERTIBLE, Checkpoint, open_checkpoint
from supplychain.conversion.errors import (
    CheckpointFormatError,
    SelfCheckError,
    UnsupportedContentError,
)
from supplychain.conversion.plan import Plan, plan
from supplychain.conversion.report import (
    ConversionReport,
    FileConversion,
    IndexConversion,
    RefusedFile,
    SkippedFile,
    TensorRecord,
)
from supplychain.conversion.select import Selection, select
from supplychain.conversion.verify import self_check
from supplychain.conversion.writer import TENSOR_DIGEST, write_plan
from supplychain.errors import FileChangedError, InputError, SupplychainError
from supplychain.formats.sniff import Format, sniff
from supplychain.model.tree import FileIdentity, ModelFile, ModelTree, walk_model


@dataclass
class _Job:
    """One checkpoint to convert, from scan to report."""

    file: ModelFile
    source_name: str
    output: Path
    output_name: str
    shard_set: sharding.ShardSet | None = None
    kind: Format = Format.UNKNOWN
    verdict: safety.SafetyVerdict | None = None
    checkpoint: Checkpoint | None = None
    selection: Selection | None = None
    plan: Plan | None = None
    #: Where the shard set's index goes (shard jobs only).
    index_output: Path | None = None


def convert(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    *,
    key: str | None = None,
    drop_non_tensors: bool = False,
    verify_with_torch: bool = False,
    overwrite: bool = False,
    allow_symlinks: bool = False,
    allow_expansion: bool = False,
    progress: bool | None = None,
    strip_prefix: bool = True,
) -> ConversionReport:
    """Convert a pickle checkpoint (or every checkpoint of a model directory) to safetensors.

    Nothing in the source is ever executed or imported, and torch is not
    needed. ``output`` is the target file (for a file) or directory (for a
    directory; default: next to the sources). ``key`` exports one container
    of a nested checkpoint (dotted, e.g. ``model`` or ``ema.state_dict``);
    by default ``state_dict`` is unwrapped repeatedly. ``drop_non_tensors``
    drops objects of classes the converter does not interpret (instead of
    refusing), never executing them. ``allow_symlinks`` follows links that stay
    inside the model (a Hugging Face cache snapshot). ``allow_expansion``
    writes outputs larger than :data:`budget.EXPANSION_FACTOR` times the
    storages they are made from (refused by default: repeated storage bytes
    can turn a tiny checkpoint into terabytes). ``strip_prefix`` removes
    DataParallel's ``module.`` when every tensor name starts with it.
    Returns a :class:`ConversionReport`;
    raises a :class:`~supplychain.errors.SupplychainError` subclass whose
    ``exit_code`` says why nothing was written. In a directory a refused
    checkpoint does not stop the others: it is listed in the report's
    ``refused_files`` (exit code 5); only when none converts is the first
    refusal raised.
    """
    started = time.perf_counter()
    source_path = Path(source)
    if not source_path.exists() and not source_path.is_symlink():
        raise InputError("no such file or directory", path=source_path, hint="check the path")
    if verify_with_torch:
        torchcheck.require_torch()
    tree = walk_model(source_path, allow_symlinks=allow_symlinks)
    jobs, skipped = _jobs(tree, source_path, None if output is None else Path(output))
    if not jobs:
        raise InputError(
            "the directory holds no PyTorch or numpy checkpoint to convert",
            path=source_path,
            hint="give a .bin/.pt/.pth/.ckpt/.npy/.npz file or a directory holding them",
        )
    _check_outputs(jobs, tree, overwrite)
    shard_sets = {j.shard_set.index_name: j.shard_set for j in jobs if j.shard_set}
    # in a directory one refused checkpoint does not refuse the others
    refused: list[tuple[_Job, SupplychainError]] | None = None if source_path.is_file() else []
    try:
        jobs = _prepare(
            jobs,
            key,
            drop_non_tensors,
            skipped,
            single=source_path.is_file(),
            allow_expansion=allow_expansion,
            strip_prefix=strip_prefix,
            refused=refused,
        )
        if refused:
            if not jobs:
                raise refused[0][1]  # nothing converted: the first refusal is the answer
            shard_sets = {
                name: s for name, s in shard_sets.items() if any(j.shard_set is s for j in jobs)
            }
        if not jobs:
            raise UnsupportedContentError(
                "no checkpoint with tensors to convert",
                path=source_path,
                hint="; ".join(f"{s.name}: {s.reason}" for s in skipped[:5]) or None,
            )
        budget.check_free_space(
            (j.output, j.plan.size + j.checkpoint.inflated_bytes)
            for j in jobs
            if j.plan is not None and j.checkpoint is not None
        )
        files, indexes = _write_all(jobs, shard_sets, verify_with_torch, progress)
    finally:
        for job in jobs:
            if job.checkpoint is not None:
                job.checkpoint.close()
    return ConversionReport(
        source_path,
        tuple(files),
        tuple(indexes),
        tuple(skipped),
        time.perf_counter() - started,
        refused_files=_refused_files(refused or []),
    )


# -- jobs ------------------------------------------------------------------------------------------
def _jobs(
    tree: ModelTree, source: Path, output: Path | None
) -> tuple[list[_Job], list[SkippedFile]]:
    if source.is_file():
        file = tree.files[0]
        name = source.name
        if output is None:
            target = source.parent / sharding.output_name(name)
        elif output.is_dir():
            target = output / sharding.output_name(name)
        else:
            target = output
        return [_Job(file, name, target, target.name)], []
    root = output if output is not None else source
    shard_sets = sharding.find_shard_sets(
        tree,
        lambda f: safeopen.read_text(
            f.path, safeopen.MODEL_METADATA, what="shard index", error=CheckpointFormatError
        ),
    )
    in_set = {shard: s for s in shard_sets for shard in s.shards}
    jobs: list[_Job] = []
    skipped: list[SkippedFile] = []
    for file in tree.files:
        kind = _kind(file)
        if kind not in CONVERTIBLE or (kind is Format.PICKLE and file.name not in in_set):
            continue
        out_name = sharding.output_name(file.name)
        shard_set = in_set.get(file.name)
        job = _Job(
            file,
            file.name,
            root / out_name,
            out_name,
            shard_set,
            kind,
            index_output=root / shard_set.output_index if shard_set else None,
        )
        jobs.append(job)
    return jobs, skipped


def _kind(file: ModelFile) -> Format:
    try:
        return sniff(file.path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=file.path) from None


def _check_outputs(jobs: list[_Job], tree: ModelTree, overwrite: bool) -> None:
    sources = {os.path.realpath(f.path) for f in tree.files}
    seen: dict[str, str] = {}
    for job in jobs:
        target = os.path.realpath(job.output)
        if target in sources:
            raise InputError(
                f"the output {job.output} would replace a source file",
                path=job.file.path,
                hint="choose another output with -o",
            )
        if target in seen:
            raise InputError(
                f"{seen[target]} and {job.source_name} would both be written to {job.output}",
                hint="convert them separately with -o",
            )
        seen[target] = job.source_name
        for path in (job.output, job.index_output):
            if path is not None and path.exists() and not overwrite:
                raise InputError(
                    "already exists", path=path, hint="pass --overwrite to replace it, or choose -o"
                )


def _prepare(
    jobs: list[_Job],
    key: str | None,
    drop_non_tensors: bool,
    skipped: list[SkippedFile],
    *,
    single: bool,
    allow_expansion: bool,
    strip_prefix: bool = True,
    refused: list[tuple[_Job, SupplychainError]] | None = None,
) -> list[_Job]:
    """Scan, interpret, select and plan each job; in a directory a refusal stops only its file.

    Refused jobs (with ``refused`` given) are collected there with their
    error; a refused shard takes its whole shard set with it (the index
    cannot describe half a model).
    """
    ready = []
    for job in jobs:
        try:
            if _prepare_one(
                job,
                key,
                drop_non_tensors,
                skipped,
                single=single,
                allow_expansion=allow_expansion,
                strip_prefix=strip_prefix,
            ):
                ready.append(job)
        except SupplychainError as exc:
            if job.checkpoint is not None:
                job.checkpoint.close()
            if refused is None or isinstance(exc, FileChangedError):
                raise
            refused.append((job, exc))
    if refused:
        ready = _drop_broken_shard_sets(ready, refused)
    _check_shard_names(ready)
    return ready


def _prepare_one(
    job: _Job,
    key: str | None,
    drop_non_tensors: bool,
    skipped: list[SkippedFile],
    *,
    single: bool,
    allow_expansion: bool,
    strip_prefix: bool,
) -> bool:
    """Make the job ready to write; False when it holds no tensors (listed as skipped)."""
    job.verdict = safety.check(job.file.path, job.source_name, drop_non_tensors=drop_non_tensors)
    scratch = job.output.parent if job.output.parent.is_dir() else None
    job.checkpoint = open_checkpoint(job.file.path, scratch=str(scratch) if scratch else None)
    job.selection = select(
        job.checkpoint.root,
        key=key,
        drop_objects=drop_non_tensors,
        bare_name=_stem(job.file.path.name),
        strip_prefix=strip_prefix,
    )
    if not job.selection.tensors and job.shard_set is None:
        reason = "no tensors" + (
            f" (left out: {_left_out(job.selection)})" if job.selection.skipped else ""
        )
        if single:
            raise UnsupportedContentError(
                f"holds {reason}",
                path=job.file.path,
                hint="choose the container of tensors with --key",
            )
        skipped.append(SkippedFile(job.source_name, reason))
        job.checkpoint.close()
        return False
    if not allow_expansion:
        budget.check_expansion(job.selection.tensors, job.checkpoint.storage_sizes, job.file.path)
    job.plan = plan(job.selection.tensors, job.checkpoint.storage_sizes)
    return True


def _drop_broken_shard_sets(
    ready: list[_Job], refused: list[tuple[_Job, SupplychainError]]
) -> list[_Job]:
    broken = {j.shard_set.index_name: j.source_name for j, _ in refused if j.shard_set is not None}
    kept = []
    for job in ready:
        if job.shard_set is not None and job.shard_set.index_name in broken:
            if job.checkpoint is not None:
                job.checkpoint.close()
            refused.append(
                (
                    job,
                    UnsupportedContentError(
                        f"another shard of {job.shard_set.index_name}, "
                        f"{broken[job.shard_set.index_name]}, was refused",
                        path=job.file.path,
                        hint="a shard set is converted whole or not at all",
                    ),
                )
            )
        else:
            kept.append(job)
    return kept


def _refused_files(refused: list[tuple[_Job, SupplychainError]]) -> tuple[RefusedFile, ...]:
    return tuple(
        RefusedFile(job.source_name, int(exc.exit_code), exc.problem, exc.hint)
        for job, exc in sorted(refused, key=lambda pair: pair[0].source_name)
    )


def _stem(name: str) -> str:
    return name.split(".", 1)[0] or name


def _left_out(selection: Selection) -> str:
    shown = ", ".join(f"{s.path} ({s.what})" for s in selection.skipped[:4])
    more = f" and {len(selection.skipped) - 4} more" if len(selection.skipped) > 4 else ""
    return shown + more


def _check_shard_names(jobs: list[_Job]) -> None:
    owners: dict[tuple[str, str], str] = {}
    for job in jobs:
        if job.shard_set is None or job.plan is None:
            continue
        names = [t.name for t in job.plan.tensors] + [a.name for a in job.plan.aliases]
        for name in names:
            previous = owners.setdefault((job.shard_set.index_name, name), job.source_name)
            if previous != job.source_name:
                raise CheckpointFormatError(
                    f"the tensor {name!r} is in two shards, {previous} and {job.source_name}",
                    hint="the sharded checkpoint is inconsistent",
                )


# -- writing ---------------------------------------------------------------------------------------
def _write_all(
    jobs: list[_Job],
    shard_sets: dict[str, sharding.ShardSet],
    verify_with_torch: bool,
    progress: bool | None,
) -> tuple[list[FileConversion], list[IndexConversion]]:
    total = sum(job.plan.data_size for job in jobs if job.plan)
    files: list[FileConversion] = []
    indexes: list[IndexConversion] = []
    with StagedFiles() as stage, byte_progress(total, "converting", enabled=progress) as advance:
        for job in jobs:
            files.append(_write_one(stage, job, verify_with_torch, advance))
        for shard_set in shard_sets.values():
            members = [(j, f) for j, f in zip(jobs, files, strict=True) if j.shard_set is shard_set]
            if members:
                indexes.append(_write_index(stage, shard_set, members))
        _check_unchanged(jobs)
        stage.commit()
    return files, indexes


def _write_one(
    stage: StagedFiles, job: _Job, verify_with_torch: bool, advance: Callable[[int], None]
) -> FileConversion:
    assert job.plan is not None and job.checkpoint is not None and job.selection is not None
    assert job.verdict is not None
    checkpoint, the_plan = job.checkpoint, job.plan
    job.output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = stage.create(job.output)
    try:
        written = write_plan(fd, the_plan, checkpoint.storage, source=job.file, advance=advance)
        # flush to disk while the self-check opens the file (commit's fsync is then quick)
        with ThreadPoolExecutor(1, thread_name_prefix="convert-fsync") as syncer:
            synced = syncer.submit(os.fsync, fd)
            checked = self_check(
                tmp, the_plan, written.digests, checkpoint.storage_dtypes, written.read_back
            )
            synced.result()
    except OSError as exc:
        if exc.errno not in WRITE_ERRNOS:
            raise
        raise write_error(exc, job.output) from None
    cross = None
    if verify_with_torch:
        cross = _cross_check(job, tmp)
    tensors = tuple(
        TensorRecord(
            t.name,
            t.view.dtype.code,
            t.header_shape,
            t.nbytes,
            checkpoint.storage_label(t.view.storage),
            "copied" if t.view.plain else "gathered",
            f"{TENSOR_DIGEST}:{written.digests[t.name]}",
        )
        for t in the_plan.tensors
    )
    return FileConversion(
        source=job.file.path,
        source_name=job.source_name,
        source_format=checkpoint.format.value,
        source_size=job.file.size,
        source_sha256=written.source_sha256 or "",
        output=job.output,
        output_name=job.output_name,
        output_size=written.size,
        output_sha256=written.sha256,
        selected=tuple(str(k) for k in job.selection.root_path),
        tensors=tensors,
        aliases={a.name: a.kept for a in the_plan.aliases},
        skipped=job.selection.skipped,
        unreferenced_bytes=the_plan.usage.unreferenced_bytes,
        unexported_bytes=the_plan.usage.unexported_bytes,
        usage_approximate=the_plan.usage.approximate,
        orphans=checkpoint.orphans,
        byteorder=checkpoint.byteorder,
        pickle_protocol=checkpoint.protocol,
        self_check=checked,
        notes=job.verdict.notes,
        waived=job.verdict.waived,
        torch_check=cross,
        stripped_prefix=job.selection.stripped_prefix,
    )


def _cross_check(job: _Job, tmp: Path) -> torchcheck.TorchCheck:
    assert job.plan is not None and job.selection is not None
    root = job.selection.root_path
    kept = {t.name: t for t in job.plan.tensors}

    def entry(name: str, kept_name: str, path: tuple[object, ...]) -> dict[str, object]:
        view = kept[kept_name].view
        # torch byte-swaps only the classic dtypes of big-endian archives (v3 dtypes stay raw)
        swap = (
            view.dtype.unit
            if (view.big_endian and view.dtype.unit > 1 and view.origin.endswith("_v3"))
            else 0
        )
        return torchcheck.item(
            name,
            kept_name,
            (*root, *path),
            view.dtype.torch_name,
            view.shape,
            swap,
            view.origin.startswith("numpy"),
        )

    items = [entry(t.name, t.name, t.path) for t in job.plan.tensors]
    aliases = [entry(a.name, a.kept, a.path) for a in job.plan.aliases]
    result = torchcheck.cross_check(job.file.path, tmp, items, aliases)
    if result.status == torchcheck.MISMATCH:
        raise SelfCheckError(
            f"torch reads the source differently: {result.detail}",
            path=job.file.path,
            hint="nothing was written; please report this",
        )
    return result


def _write_index(
    stage: StagedFiles, shard_set: sharding.ShardSet, members: list[tuple[_Job, FileConversion]]
) -> IndexConversion:
    written: dict[str, list[str]] = {}
    aliases: dict[str, str] = {}
    total = 0
    for job, conversion in members:
        assert job.plan is not None
        written[job.output_name] = [t.name for t in job.plan.tensors]
        aliases.update(conversion.aliases)
        total += job.plan.data_size
    document = sharding.index_document(shard_set, written, total, dict(sorted(aliases.items())))
    target = members[0][0].index_output
    assert target is not None
    if target.is_dir():
        raise CheckpointFormatError(f"{target} is a directory")
    fd, _ = stage.create(target)
    try:
        _write_all_bytes(fd, document)
    except OSError as exc:
        raise write_error(exc, target) from None
    return IndexConversion(
        shard_set.index_name,
        target,
        shard_set.output_index,
        hashlib.sha256(document).hexdigest(),
        total,
        tuple(sorted(written)),
        sum(len(v) for v in written.values()),
    )


def _write_all_bytes(fd: int, data: bytes) -> None:
    done = 0
    while done < len(data):
        done += os.write(fd, data[done:])


def _check_unchanged(jobs: list[_Job]) -> None:
    for job in jobs:
        try:
            current = FileIdentity.of(os.stat(job.file.path))
        except OSError:
            current = None
        if current != job.file.identity:
            raise FileChangedError(
                "changed while it was being converted",
                path=job.file.path,
                hint="make sure nothing writes to the model, then retry",
            )
