"""debwheels rebuild-check, offline: the environment a wheel records, the arguments, the throw-away project, env "" in the builder."""

from __future__ import annotations

import calendar
import hashlib
import zipfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from conftest import ROOT, run_cli
from debwheels.build.builder import Builder
from debwheels.build.results import SourceItem
from debwheels.build.sources import BuildSystem
from debwheels.config import PackageSettings, load_config
from debwheels.context import Context
from debwheels.debian.images import Images
from debwheels.errors import ConfigError, RequirementsError
from debwheels.lock.graph import LockedPackage
from debwheels.lock.simpleindex import IndexFile, ProjectPage
from debwheels.rebuild.project import ProjectSpec, builder_files, render_pyproject, timestamp, write_project
from debwheels.rebuild.recorded import (
    HATCHLING_DEFAULT_EPOCH,
    RecordedEnvironment,
    default_environment,
    newest_setuptools,
    pinned_requires,
    read_wheel,
    recorded_environment,
    time_only_difference,
    zone_offset,
)
from debwheels.rebuild.wanted import ReleaseArgument, Wanted, read_arguments, release_wheel

SOURCE_TIME = (2024, 9, 15, 18, 6, 54)
FLIT_FIXED = (2016, 1, 1, 0, 0, 0)


def make_wheel(path: Path, generator: str | None, times: list[tuple[int, int, int, int, int, int]]) -> Path:
    """A small wheel (PEP 427) whose WHEEL file names *generator*; its entries get *times* in turn (the last repeated)."""
    name, version = path.name.split("-")[:2]
    info = f"{name}-{version}.dist-info"
    members = [f"{name}/__init__.py", f"{info}/METADATA", f"{info}/WHEEL", f"{info}/RECORD"]
    wheel_text = "Wheel-Version: 1.0\n" + (f"Generator: {generator}\n" if generator else "") + "Root-Is-Purelib: true\n"
    contents = {
        members[0]: "x = 1\n",
        members[1]: f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        members[2]: wheel_text,
        members[3]: "",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for number, member in enumerate(members):
            stamp = times[min(number, len(times) - 1)]
            archive.writestr(zipfile.ZipInfo(member, stamp), contents[member])
    return path


def environment_of(
    tmp_path: Path,
    generator: str | None,
    times: list[tuple[int, int, int, int, int, int]],
    uploaded: datetime | None = None,
    setuptools_releases: Callable[[], Sequence[tuple[Version, datetime | None]]] = lambda: (),
) -> RecordedEnvironment:
    """The environment a small wheel of *generator* and *times* records."""
    wheel = make_wheel(tmp_path / "demo-1.0-py3-none-any.whl", generator, times)
    return recorded_environment(read_wheel(wheel), uploaded, setuptools_releases)


def test_hatchling_with_one_timestamp_pins_hatchling_and_sets_source_date_epoch_to_it(tmp_path: Path) -> None:
    env = environment_of(tmp_path, "hatchling 1.27.0", [(2025, 10, 6, 9, 22, 26)])
    assert env.generator == "hatchling 1.27.0"
    assert env.pins == ["hatchling==1.27.0"]
    assert env.source_date_epoch == calendar.timegm((2025, 10, 6, 9, 22, 26, 0, 0, 0)) == 1759742546
    assert "read as UTC" in env.notes[0] and "2025-10-06T09:22:26Z" in env.notes[0]
    assert env.describe() == "hatchling==1.27.0, SOURCE_DATE_EPOCH=1759742546"
    assert env.to_json() == {
        "generator": "hatchling 1.27.0",
        "pins": ["hatchling==1.27.0"],
        "source-date-epoch": 1759742546,
        "tz": None,
        "notes": env.notes,
    }


def test_hatchlings_own_fixed_time_is_named(tmp_path: Path) -> None:
    env = environment_of(tmp_path, "hatchling 1.27.0", [(2020, 2, 2, 0, 0, 0)])
    assert env.source_date_epoch == HATCHLING_DEFAULT_EPOCH
    assert any("hatchling's fixed time" in note for note in env.notes)


@pytest.mark.parametrize(
    ("generator", "pin", "times"),
    [
        ("flit 3.12.0", "flit_core==3.12.0", [SOURCE_TIME, FLIT_FIXED]),
        ("poetry-core 1.9.0", "poetry-core==1.9.0", [(1980, 1, 1, 0, 0, 0), (1980, 1, 1, 0, 0, 0), FLIT_FIXED]),
        ("setuptools (80.9.0)", "setuptools==80.9.0", [SOURCE_TIME, (2025, 8, 18, 21, 43, 30)]),
        ("pdm-backend (2.4.5)", "pdm-backend==2.4.5", [SOURCE_TIME, FLIT_FIXED]),
    ],
)
def test_mixed_timestamps_leave_source_date_epoch_unset(
    tmp_path: Path, generator: str, pin: str, times: list[tuple[int, int, int, int, int, int]]
) -> None:
    env = environment_of(tmp_path, generator, times)
    assert env.pins == [pin]
    assert env.source_date_epoch is None
    assert env.describe() == f"{pin}, SOURCE_DATE_EPOCH unset"
    assert "different entry times" in env.notes[0] and "unset" in env.notes[0]
    clock = any("build machine's clock" in note for note in env.notes)
    assert clock == generator.startswith("setuptools")


SETUPTOOLS = [
    (Version("75.0.0"), datetime(2024, 9, 20, tzinfo=UTC)),
    (Version("69.5.1"), datetime(2024, 4, 13, tzinfo=UTC)),
    (Version("69.1.1"), datetime(2024, 2, 23, tzinfo=UTC)),
    (Version("69.2.0rc1"), datetime(2024, 2, 25, tzinfo=UTC)),
    (Version("68.0.0"), None),
    (Version("70.0.0"), datetime(2024, 5, 21, tzinfo=UTC)),
]


def test_bdist_wheel_pins_wheel_and_the_newest_setuptools_before_70_1_uploaded_before_the_wheel(tmp_path: Path) -> None:
    uploaded = datetime(2024, 3, 1, 18, 36, 18, tzinfo=UTC)
    asked = []
    env = environment_of(
        tmp_path,
        "bdist_wheel (0.42.0)",
        [SOURCE_TIME, (2024, 3, 1, 18, 36, 16)],
        uploaded=uploaded,
        setuptools_releases=lambda: asked.append(1) or SETUPTOOLS,
    )
    assert asked == [1]
    assert env.pins == ["wheel==0.42.0", "setuptools==69.1.1"]
    assert any("setuptools 69.1.1" in n and "uploaded before the wheel" in n for n in env.notes)
    assert any("build machine's clock" in note for note in env.notes)


def test_bdist_wheel_without_an_upload_time_takes_the_newest_setuptools_before_70_1_and_says_so() -> None:
    picked, note = newest_setuptools(SETUPTOOLS, None)
    assert picked == Version("70.0.0")
    assert "upload time is unknown" in note
    picked, note = newest_setuptools(SETUPTOOLS, datetime(2000, 1, 1, tzinfo=UTC))
    assert picked is None and "not pinned" in note


def test_other_generators_ask_no_setuptools_releases(tmp_path: Path) -> None:
    def fail() -> list[tuple[Version, datetime | None]]:
        raise AssertionError("setuptools releases asked for")

    assert environment_of(tmp_path, "flit 3.9.0", [SOURCE_TIME], setuptools_releases=fail).pins == ["flit_core==3.9.0"]


@pytest.mark.parametrize("generator", [None, "maturin (1.7.4)", "hatchling not-a-version", "???"])
def test_unknown_or_missing_generators_pin_nothing_and_say_so(tmp_path: Path, generator: str | None) -> None:
    env = environment_of(tmp_path, generator, [SOURCE_TIME])
    assert env.pins == []
    assert "declared build requirements are used" in env.notes[0]
    assert env.describe().startswith("the declared build requirements, SOURCE_DATE_EPOCH=")


def test_a_file_that_is_no_wheel_is_refused_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "demo-1.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="is not a readable wheel"):
        read_wheel(bad)
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("demo/__init__.py", "")
    with pytest.raises(ConfigError, match="holds 0 top-level"):
        read_wheel(bad)


def test_defaults_when_the_bytes_are_not_at_hand() -> None:
    env = default_environment(1309379017, "no bytes")
    assert env.generator is None and env.pins == [] and env.source_date_epoch == 1309379017
    assert env.notes == ["no bytes: built with debwheels' defaults (declared build requirements)"]


def test_pins_replace_the_declared_requirement_on_their_project() -> None:
    declared = ["flit-core >=3.2,<4", "hatch-vcs", "Flit_Core<5", "wheel; python_version<'3'"]
    assert pinned_requires(declared, ["flit_core==3.9.0"]) == [
        "flit_core==3.9.0",
        "hatch-vcs",
        "wheel; python_version<'3'",
    ]
    assert pinned_requires(["setuptools>=40.8.0"], ["wheel==0.37.1", "setuptools==59.6.0"]) == [
        "setuptools==59.6.0",
        "wheel==0.37.1",
    ]
    assert pinned_requires(["hatchling"], []) == ["hatchling"]


# --- arguments ---------------------------------------------------------------------------------


def sums_line(name: str, digest: str = "a" * 64) -> str:
    return f"{digest}  {name}\n"


def test_a_sums_file_gives_its_wheels_in_any_line_order(tmp_path: Path) -> None:
    sums = tmp_path / "sha256sums.txt"
    sums.write_text(
        sums_line("simple/index.html", "1" * 64)
        + sums_line("bookworm/zz-2.0-cp311-cp311-linux_x86_64.whl", "2" * 64)
        + sums_line("Attrs-25.4.0-py3-none-any.whl", "3" * 64)
    )
    found = read_arguments([str(sums)])
    assert found == [
        Wanted("Attrs-25.4.0-py3-none-any.whl", "3" * 64, "attrs", "25.4.0", str(sums)),
        Wanted("zz-2.0-cp311-cp311-linux_x86_64.whl", "2" * 64, "zz", "2.0", str(sums)),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (sums_line("demo-1.0.tar.gz"), "lists no wheels"),
        ("hello\n", "is neither a wheel"),
        ("", "is neither a wheel"),
        (sums_line("not-a-wheel.whl"), "is not a wheel file name"),
    ],
)
def test_bad_sums_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    sums = tmp_path / "sums.txt"
    sums.write_text(content)
    with pytest.raises(ConfigError, match=message):
        read_arguments([str(sums)])


def test_a_wheel_file_gives_its_name_and_sha256_and_release_arguments_are_read(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "demo-1.0-py3-none-any.whl", "flit 3.9.0", [SOURCE_TIME])
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    found = read_arguments([str(wheel), "Demo==1.0", str(wheel), "demo==1.0"])
    assert found == [
        Wanted(wheel.name, digest, "demo", "1.0", str(wheel), wheel.resolve()),
        ReleaseArgument("demo", "1.0", "Demo==1.0"),
    ]


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("missing.whl", "no such file"),
        ("requests", "no such file"),
        ("requests>=2", "no such file"),
        ("requests==2.*", "not NAME==VERSION"),
        ("requests[socks]==2.32.5", "not NAME==VERSION"),
        ("requests==2.32.5; python_version>'3'", "not NAME==VERSION"),
    ],
)
def test_bad_arguments_are_refused(argument: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read_arguments([argument])


def test_directories_and_misnamed_wheels_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        read_arguments([str(tmp_path)])
    misnamed = tmp_path / "demo.whl"
    misnamed.write_bytes(b"")
    with pytest.raises(ConfigError, match="is not a wheel file name"):
        read_arguments([str(misnamed)])
    not_zip = tmp_path / "demo-1.0-py3-none-any.whl"
    not_zip.write_bytes(b"text")
    with pytest.raises(ConfigError, match="is not a zip archive"):
        read_arguments([str(not_zip)])


def index_file(filename: str, kind: str = "wheel") -> IndexFile:
    name, version = filename.split("-")[:2]
    return IndexFile(
        filename,
        f"https://files.example/{filename}",
        canonicalize_name(name),
        Version(version.removesuffix(".tar.gz")),
        kind,
        "b" * 64,
        datetime(2025, 1, 1, tzinfo=UTC),
        None,
        None,
        None,
    )


def test_a_release_argument_takes_the_pure_wheel_or_says_there_is_none() -> None:
    page = ProjectPage(
        canonicalize_name("demo"),
        "https://index.example/demo/",
        (
            index_file("demo-1.0.tar.gz", "sdist"),
            index_file("demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
            index_file("demo-1.0-py2.py3-none-any.whl"),
            index_file("demo-2.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
        ),
    )
    assert release_wheel(page, ReleaseArgument("demo", "1.0", "demo==1.0")).filename == "demo-1.0-py2.py3-none-any.whl"
    with pytest.raises(RequirementsError, match=r"demo==2\.0: the index has no pure-Python wheel"):
        release_wheel(page, ReleaseArgument("demo", "2.0", "demo==2.0"))
    with pytest.raises(RequirementsError, match="no files of that version"):
        release_wheel(page, ReleaseArgument("demo", "3.0", "demo==3.0"))


def test_bad_arguments_exit_with_one_line_and_the_config_error_code(tmp_path: Path) -> None:
    for argument in ("nothing-here", str(tmp_path)):
        done = run_cli("-C", str(tmp_path), "rebuild-check", argument)
        assert done.code == 3, done.err
        assert done.err.count("\n") == 1 and done.err.startswith("debwheels: error: ") and "Traceback" not in done.err


# --- the throw-away project ----------------------------------------------------------------------


def caller(tmp_path: Path, tool: str = "") -> Path:
    root = tmp_path / "caller"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1"\n\n[tool.debwheels]\ntargets = ["trixie", "bookworm"]\n'
        f'builder-lock = "{ROOT / "builder-lock.json"}"\ndockerfile = "{ROOT / "Dockerfile"}"\n{tool}'
    )
    return root


@pytest.mark.parametrize("sde", [1759742546, None])
def test_the_throw_away_project_says_what_to_build_and_how(
    tmp_path: Path, sde: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEBWHEELS_EXCLUDE_NEWER")  # it overrides the file (the lock request overrides both)
    cfg = load_config(caller(tmp_path, 'extra-builder-packages = ["libpq-dev"]\n'))
    spec = ProjectSpec(
        "attrs",
        "25.4.0",
        "attrs-25.4.0-py3-none-any.whl",
        ("hatchling==1.27.0", "hatch-vcs"),
        sde,
        datetime(2025, 10, 6, 13, 54, 44, 725223, tzinfo=UTC),
    )
    root = write_project(tmp_path / "rebuild-check" / "attrs-25.4.0", cfg, spec)
    assert (root / "requirements" / "requirements.in").read_text() == "attrs==25.4.0\n"
    assert (root / "rebuild_check_attrs.py").is_file()
    made = load_config(root)
    assert made.project_name == "rebuild_check_attrs" and made.project_version == "0"
    assert made.runtime_dependencies is False
    assert made.targets == ("trixie",), "the caller's first target"
    assert made.exclude_newer == datetime(2025, 10, 6, 13, 54, 45, tzinfo=UTC), "rounded up: the sdist stays in"
    assert made.dockerfile == ROOT / "Dockerfile" and made.builder_lock == ROOT / "builder-lock.json"
    assert made.builder_packages == cfg.builder_packages and "libpq-dev" in made.builder_packages
    settings = made.settings("attrs", "25.4.0", "hatchling.build")
    assert settings.build_requires == ("hatchling==1.27.0", "hatch-vcs")
    assert settings.env == {"SOURCE_DATE_EPOCH": "" if sde is None else str(sde)}
    assert made.settings("attrs", "25.3.0").build_requires is None, "only that version"


def test_a_caller_without_a_dockerfile_gets_debwheels_own_builder(tmp_path: Path) -> None:
    cfg = load_config(tmp_path, missing_ok=True)
    dockerfile, lock = builder_files(cfg)
    assert dockerfile.read_bytes() == (ROOT / "Dockerfile").read_bytes()
    assert lock.read_bytes() == (ROOT / "builder-lock.json").read_bytes()
    spec = ProjectSpec("idna", "3.10", "idna-3.10-py3-none-any.whl", ("flit_core==3.9.0",), None, None)
    assert "exclude-newer" not in render_pyproject(cfg, spec)


def test_timestamps_are_rounded_up_to_the_second() -> None:
    assert timestamp(datetime(2024, 9, 15, 18, 7, 39, 745833, tzinfo=UTC)) == "2024-09-15T18:07:40Z"
    assert timestamp(datetime(2024, 9, 15, 18, 7, 39, tzinfo=UTC)) == "2024-09-15T18:07:39Z"


# --- env "" in the builder -----------------------------------------------------------------------


def test_an_empty_env_value_removes_the_variable_from_the_build_environment(tmp_path: Path) -> None:
    cfg = load_config(caller(tmp_path))
    builder = Builder(Context(cfg, lambda line: None, _ready=(object(), Images("builder", "endpoint"))))  # type: ignore[arg-type]

    def environment(env: dict[str, str]) -> dict[str, str]:
        item = SourceItem(
            LockedPackage("demo", "1.0", "demo-1.0.tar.gz", "c" * 64),
            tmp_path / "demo-1.0",
            BuildSystem(("flit_core",), "flit_core.buildapi"),
            None,
            PackageSettings("demo", env=env),
        )
        return builder._environment(item)

    assert environment({})["SOURCE_DATE_EPOCH"] == str(cfg.source_date_epoch)
    assert environment({"SOURCE_DATE_EPOCH": "1759742546"})["SOURCE_DATE_EPOCH"] == "1759742546"
    unset = environment({"SOURCE_DATE_EPOCH": "", "EXTRA": "1"})
    assert "SOURCE_DATE_EPOCH" not in unset and unset["EXTRA"] == "1" and unset["TZ"] == "UTC"
    assert "SOURCE_DATE_EPOCH" not in environment({"SOURCE_DATE_EPOCH": ""})


@pytest.mark.parametrize(
    ("theirs", "tz"),
    [((2024, 9, 15, 19, 6, 54), "UTC-1"), ((2024, 9, 15, 12, 36, 54), "UTC+5:30"), (SOURCE_TIME, None)],
)
def test_source_times_shifted_by_one_zone_offset_name_the_makers_tz(
    tmp_path: Path, theirs: tuple[int, int, int, int, int, int], tz: str | None
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    wanted = make_wheel(tmp_path / "a" / "pkg-1.0-py3-none-any.whl", "flit 3.12.0", [theirs, FLIT_FIXED])
    ours = make_wheel(tmp_path / "b" / "pkg-1.0-py3-none-any.whl", "flit 3.12.0", [SOURCE_TIME, FLIT_FIXED])
    assert zone_offset(wanted, ours) == tz  # .dist-info times (generated) do not count


def test_a_zone_with_summer_time_is_found_by_its_rules(tmp_path: Path) -> None:
    # London: the summer file is an hour ahead of UTC, the winter one is not
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    wanted = make_wheel(tmp_path / "a" / "pkg-1.0-py3-none-any.whl", None, [(2024, 6, 10, 1, 16, 0)])
    ours = make_wheel(tmp_path / "b" / "pkg-1.0-py3-none-any.whl", None, [(2024, 6, 10, 0, 16, 0)])
    with zipfile.ZipFile(wanted, "a") as archive:
        archive.writestr(zipfile.ZipInfo("pkg/winter.py", (2024, 1, 10, 0, 16, 0)), "y = 2\n")
    with zipfile.ZipFile(ours, "a") as archive:
        archive.writestr(zipfile.ZipInfo("pkg/winter.py", (2024, 1, 10, 0, 16, 0)), "y = 2\n")
    found = zone_offset(wanted, ours)
    assert found is not None and "," in found  # a POSIX TZ with summer-time rules
    assert found.startswith(("GMT0BST", "WET0WEST", "<+00>0<+01>")), found


def test_times_that_differ_by_other_amounts_name_no_zone(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    wanted = make_wheel(tmp_path / "a" / "pkg-1.0-py3-none-any.whl", None, [(2024, 9, 15, 18, 7, 10)])
    ours = make_wheel(tmp_path / "b" / "pkg-1.0-py3-none-any.whl", None, [SOURCE_TIME])
    assert zone_offset(wanted, ours) is None


def test_a_difference_only_in_dist_info_times_is_named_and_any_other_is_not(tmp_path: Path) -> None:
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
    name = "pkg-1.0-py3-none-any.whl"
    wanted = make_wheel(tmp_path / "a" / name, "setuptools (80.9.0)", [SOURCE_TIME, (2025, 8, 18, 21, 43, 30)])
    ours = make_wheel(tmp_path / "b" / name, "setuptools (80.9.0)", [SOURCE_TIME, (2026, 12, 2, 13, 0, 0)])
    note = time_only_difference(wanted, ours)
    assert note is not None and "its .dist-info files" in note and "METADATA" in note
    other = make_wheel(tmp_path / "c" / name, "setuptools (80.9.1)", [SOURCE_TIME, (2025, 8, 18, 21, 43, 30)])
    assert time_only_difference(wanted, other) is None  # the WHEEL file's bytes differ
    assert time_only_difference(wanted, wanted) is None  # nothing differs
