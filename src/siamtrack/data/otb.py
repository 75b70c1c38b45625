"""OTB-2013 / OTB-2015 (Wu, Lim and Yang, "Online Object Tracking: A Benchmark", CVPR 2013, and
"Object Tracking Benchmark", TPAMI 2015).

Layout: ``<root>/<Video>/img/0001.jpg ...`` and ``<root>/<Video>/groundtruth_rect.txt`` (1-based
``x, y, w, h``; comma, tab or space separated). Videos with two annotated targets have
``groundtruth_rect.1.txt`` and ``groundtruth_rect.2.txt`` and give the sequences ``<Video>.1`` and
``<Video>.2``.

Quirks handled here (from the benchmark's ``configSeqs``):

* David is frames 300-770, BlurCar1 starts at frame 247, BlurCar3 at 3, BlurCar4 at 18;
* Football1, Freeman3, Freeman4 and Diving end before their last image: the ground truth's length decides;
* Board's images have 5-digit names;
* Jogging and Skating2 have two targets, Human4 only its second (``Human4.2``);
* Tiger1: OTB's ``configSeqs`` marks its first 5 frames ``initOmit`` (the tracker is started at frame 6 in
  the original toolkit's runs). Off by default (the sequence starts at frame 1, as in got10k, pysot and
  pytracking); ``tiger1_init_omit=True`` starts it at frame 6 instead.

TRE start-frame omissions: the OTB toolkit (``tracker_benchmark`` v1.0) ships ``initOmit/<name>.txt`` files
listing frames on which a TRE run must not start (the target occluded or out of view). Where the folder
``<root>/initOmit`` exists, the reader fills ``Sequence.metadata["tre_omit"]`` (what
:func:`~siamtrack.evaluation.tre_sre.tre_start_frames` skips) from the sequence's file:

* the file name is the sequence name matched case-insensitively (``Tiger1`` reads ``tiger1.txt``); a
  two-target video's target reads the toolkit's own ``<video>-<target>.txt`` (``jogging-1.txt``, the
  toolkit's name for ``Jogging.1``) where it exists, else ``<video>.txt`` (``jogging.txt``, for both targets);
  no file means no omitted frames (``tre_omit`` is not set);
* each line holds two 1-based inclusive frame numbers ``first last``, separated by blanks or a comma; the
  numbers are the image files' numbers, as in the toolkit's ``splitSeqTRE.m`` (``load(file) -
  seq.startFrame + 1``), so a sequence that starts later than frame 1 (David at 300, BlurCar1 at 247,
  Tiger1 at 6 with ``tiger1_init_omit``) has them shifted by its ``start_frame``: ``tre_omit`` holds
  0-based inclusive ``(first - start_frame, last - start_frame)`` tuples, clipped to the sequence's frames
  (a range wholly outside them excludes nothing and is dropped). An empty file omits nothing;
* a line that is not two integers ``1 <= first <= last`` raises :class:`DatasetError` naming the file, the
  line number and the line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from siamtrack.data.annotations import (
    DatasetError,
    numbered_frames,
    parse_annotation,
    read_box_file,
    require_file,
)
from siamtrack.data.sequence import ImageFiles, Sequence
from siamtrack.geometry import one_based_to_zero_based

# OTB-2013: 50 videos, 51 targets (Jogging has two).
OTB2013_TARGETS = (
    "Basketball Bolt Boy Car4 CarDark CarScale Coke Couple Crossing David David2 David3 Deer Dog1 Doll Dudek "
    "FaceOcc1 FaceOcc2 Fish FleetFace Football Football1 Freeman1 Freeman3 Freeman4 Girl Ironman Jogging.1 "
    "Jogging.2 Jumping Lemming Liquor Matrix Mhyang MotorRolling MountainBike Shaking Singer1 Singer2 Skating1 "
    "Skiing Soccer Subway Suv Sylvester Tiger1 Tiger2 Trellis Walking Walking2 Woman"
).split()

# OTB-2015 (TB-100): 98 videos, 100 targets (Jogging and Skating2 have two; Human4 is its second target).
OTB2015_TARGETS = (
    "Basketball Biker Bird1 Bird2 BlurBody BlurCar1 BlurCar2 BlurCar3 BlurCar4 BlurFace BlurOwl Board Bolt Bolt2 "
    "Box Boy Car1 Car2 Car24 Car4 CarDark CarScale ClifBar Coke Couple Coupon Crossing Crowds Dancer Dancer2 "
    "David David2 David3 Deer Diving Dog Dog1 Doll DragonBaby Dudek FaceOcc1 FaceOcc2 Fish FleetFace Football "
    "Football1 Freeman1 Freeman3 Freeman4 Girl Girl2 Gym Human2 Human3 Human4.2 Human5 Human6 Human7 Human8 "
    "Human9 Ironman Jogging.1 Jogging.2 Jump Jumping KiteSurf Lemming Liquor Man Matrix Mhyang MotorRolling "
    "MountainBike Panda RedTeam Rubik Shaking Singer1 Singer2 Skater Skater2 Skating1 Skating2.1 Skating2.2 "
    "Skiing Soccer Subway Surfer Suv Sylvester Tiger1 Tiger2 Toy Trans Trellis Twinnings Vase Walking Walking2 "
    "Woman"
).split()

VERSIONS = {"otb2013": OTB2013_TARGETS, "otb2015": OTB2015_TARGETS}

# First frame number where it is not 1 (the ground truth's length gives the last one).
START_FRAMES = {"David": 300, "BlurCar1": 247, "BlurCar3": 3, "BlurCar4": 18}
# Videos whose image folder holds more frames than the ground truth covers (last annotated frame).
END_FRAMES = {"David": 770, "Football1": 74, "Freeman3": 460, "Freeman4": 283, "Diving": 215}
FRAME_NAME_DIGITS = {"Board": 5}
TIGER1_INIT_OMIT = 5
INIT_OMIT_FOLDER = "initOmit"  # the toolkit's TRE start-frame omissions, in the dataset root

# OTB's 11 attributes (TPAMI 2015, Table 1).
ATTRIBUTE_NAMES = {
    "IV": "illumination variation",
    "SV": "scale variation",
    "OCC": "occlusion",
    "DEF": "deformation",
    "MB": "motion blur",
    "FM": "fast motion",
    "IPR": "in-plane rotation",
    "OPR": "out-of-plane rotation",
    "OV": "out of view",
    "BC": "background clutter",
    "LR": "low resolution",
}

_TARGET_FILE = re.compile(r"groundtruth_rect(?:\.(\d+))?\.txt")


def read_otb_sequence(
    video_dir: str | os.PathLike, target: int | None = None, tiger1_init_omit: bool = False, dataset: str = "OTB"
) -> Sequence:
    """Read one OTB target: ``video_dir`` is ``<root>/<Video>``; ``target`` selects
    ``groundtruth_rect.<target>.txt`` (``None``: ``groundtruth_rect.txt``)."""
    video_dir = Path(video_dir)
    video = video_dir.name
    if target is None:
        annotation_path = video_dir / "groundtruth_rect.txt"
        name = video
    else:
        annotation_path = video_dir / f"groundtruth_rect.{target}.txt"
        name = f"{video}.{target}"
    boxes = read_box_file(require_file(annotation_path, "OTB ground-truth file"))
    start = START_FRAMES.get(video, 1)
    end = start + len(boxes) - 1
    if video in END_FRAMES and END_FRAMES[video] != end:
        raise DatasetError(
            f"{annotation_path}: {len(boxes)} rows from frame {start} end at frame {end}, "
            f"but OTB's {video} ends at frame {END_FRAMES[video]}"
        )
    pattern = f"%0{FRAME_NAME_DIGITS.get(video, 4)}d.jpg"
    image_dir = video_dir / "img"
    paths = numbered_frames(image_dir, range(start, end + 1), pattern)
    if video not in START_FRAMES and video not in END_FRAMES:
        extra = _count_images(image_dir) - len(paths)
        if extra:
            raise DatasetError(
                f"{annotation_path}: {len(boxes)} ground-truth rows but {image_dir} holds {len(paths) + extra} images"
            )
    boxes = one_based_to_zero_based(boxes)
    metadata = {}
    if video == "Tiger1" and tiger1_init_omit:
        paths, boxes, start = paths[TIGER1_INIT_OMIT:], boxes[TIGER1_INIT_OMIT:], start + TIGER1_INIT_OMIT
        metadata["init_omit"] = TIGER1_INIT_OMIT
    omit_path = _init_omit_file(video_dir.parent / INIT_OMIT_FOLDER, video, target)
    if omit_path is not None:
        metadata["tre_omit"] = read_init_omit(omit_path, start, len(paths))
    return Sequence(
        name=name,
        frames=ImageFiles(paths),
        ground_truth=boxes,
        attributes=ATTRIBUTES.get(name, ()),
        start_frame=start,
        dataset=dataset,
        metadata=metadata,
    )


def read_init_omit(path: str | os.PathLike, start_frame: int, length: int) -> list[tuple[int, int]]:
    """The frames of one ``initOmit`` file (1-based inclusive ``first last`` image numbers per line) as 0-based
    inclusive ``(first, last)`` indices of a sequence of ``length`` frames whose first frame is image
    number ``start_frame``, clipped to the sequence (see the module docstring)."""
    path = os.fspath(path)
    try:
        content = Path(path).read_bytes()
    except OSError as error:
        raise DatasetError(f"{path}: cannot read initOmit file ({error.strerror})") from None
    if not content.strip():
        return []
    rows = parse_annotation(content, path, columns=2)
    lines = content.decode("utf-8").removeprefix("\ufeff").splitlines()
    ranges = []
    for number, (first, last) in enumerate(rows, start=1):
        if not (first.is_integer() and last.is_integer() and 1 <= first <= last):
            raise DatasetError(
                f"{path}:{number}: expected two frame numbers 1 <= first <= last (line {lines[number - 1]!r})"
            )
        first, last = max(int(first) - start_frame, 0), min(int(last) - start_frame, length - 1)
        if first <= last:
            ranges.append((first, last))
    return ranges


def _init_omit_file(folder: Path, video: str, target: int | None) -> Path | None:
    """The ``initOmit`` file of ``video`` (target ``target``) in ``folder``, matched case-insensitively;
    ``None`` where the folder or the file does not exist."""
    if not folder.is_dir():
        return None
    entries: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir()):
        entries.setdefault(entry.name.lower(), []).append(entry)
    names = ([f"{video}-{target}.txt"] if target is not None else []) + [f"{video}.txt"]
    for name in names:
        found = entries.get(name.lower(), [])
        if len(found) > 1:
            raise DatasetError(
                f"{folder}: {' and '.join(entry.name for entry in found)} are both the "
                f"initOmit file of {video if target is None else f'{video}.{target}'}"
            )
        if found:
            return found[0]
    return None


def otb_targets(video_dir: str | os.PathLike) -> list[int | None]:
    """The target numbers of one OTB video folder (``[None]`` for a single ``groundtruth_rect.txt``).

    Empty annotation files (``groundtruth_rect.1.txt`` of Human4 in some downloads) are not targets.
    """
    video_dir = Path(video_dir)
    targets = []
    for entry in sorted(os.listdir(video_dir)):
        match = _TARGET_FILE.fullmatch(entry)
        if match and (video_dir / entry).stat().st_size > 0 and (video_dir / entry).read_bytes().strip():
            targets.append(int(match[1]) if match[1] else None)
    if not targets:
        raise DatasetError(f"{video_dir}: no groundtruth_rect*.txt file")
    if None in targets and len(targets) > 1:
        raise DatasetError(f"{video_dir}: both groundtruth_rect.txt and numbered target files")
    return sorted(targets, key=lambda t: -1 if t is None else t)


def read_otb(
    root: str | os.PathLike, version: str = "otb2015", tiger1_init_omit: bool = False, all_targets: bool = True
) -> list[Sequence]:
    """Read an OTB benchmark from ``root``.

    Args:
        version: ``"otb2013"`` (51 targets), ``"otb2015"`` (100 targets) or ``"folder"``: every video folder
            under ``root`` that has an ``img/`` folder (e.g. a subset of OTB).
        tiger1_init_omit: start Tiger1 at frame 6 (see the module docstring).
        all_targets: for ``"folder"``: every target of a two-target video; ``False`` keeps the first only
            (Human4 keeps ``.2``, its only target). The named versions always read their listed targets.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: OTB root folder not found")
    if version == "folder":
        sequences = []
        for video in sorted(entry.name for entry in root.iterdir() if (entry / "img").is_dir()):
            targets = otb_targets(root / video)
            for target in targets if all_targets else targets[:1]:
                sequences.append(read_otb_sequence(root / video, target, tiger1_init_omit))
        if not sequences:
            raise DatasetError(f"{root}: no OTB video folders (<Video>/img/) found")
        return sequences
    if version not in VERSIONS:
        raise DatasetError(f"unknown OTB version {version!r}; expected one of {sorted(VERSIONS)} or 'folder'")
    sequences = []
    for name in VERSIONS[version]:
        video, _, target = name.partition(".")
        video_dir = root / video
        if not video_dir.is_dir():
            raise DatasetError(f"{video_dir}: {version} video folder missing")
        sequences.append(
            read_otb_sequence(
                video_dir,
                int(target) if target else None,
                tiger1_init_omit,
                dataset=version.upper().replace("OTB", "OTB-"),
            )
        )
    return sequences


def _count_images(directory: Path) -> int:
    return sum(1 for entry in os.listdir(directory) if entry.lower().endswith(".jpg"))


# Per-target attributes (OTB's 11, TPAMI 2015): the benchmark website's per-sequence list for the 100 targets,
# as the OTB authors publish it with their toolkit (``tb_100.txt``). The OTB-2013 targets use the same
# entries; the CVPR 2013 paper labelled its 51 targets separately and that older labelling was not
# cross-checked here, so per-attribute OTB-2013 subsets may differ slightly from the 2013 paper's.
# Known discrepancy: this list's OTB-2015 subset sizes are IV 38, SV 65, OCC 49, DEF 44, MB 31, FM 43, IPR 51,
# OPR 64, OV 14, BC 32, LR 10, while the sizes usually printed on OTB-100 attribute plots (the MATLAB
# toolkit's own attribute files) are SV 64, MB 29, FM 39, OPR 63, BC 31, LR 9; which targets differ is
# unverified here.
_ATTRIBUTE_TABLE = """
Basketball: IV OCC DEF OPR BC
Biker: SV OCC MB FM OPR OV LR
Bird1: DEF FM OV
Bird2: OCC DEF FM IPR OPR
BlurBody: SV DEF MB FM IPR
BlurCar1: MB FM
BlurCar2: SV MB FM
BlurCar3: MB FM
BlurCar4: MB FM
BlurFace: MB FM IPR
BlurOwl: SV MB FM IPR
Board: SV MB FM OPR OV BC
Bolt: OCC DEF IPR OPR
Bolt2: DEF BC
Box: IV SV OCC MB IPR OPR OV BC LR
Boy: SV MB FM IPR OPR
Car1: IV SV MB FM BC LR
Car2: IV SV MB FM BC
Car24: IV SV BC
Car4: IV SV
CarDark: IV BC
CarScale: SV OCC FM IPR OPR
ClifBar: SV OCC MB FM IPR OV BC
Coke: IV OCC FM IPR OPR BC
Couple: SV DEF FM OPR BC
Coupon: OCC BC
Crossing: SV DEF FM OPR BC
Crowds: IV DEF BC
Dancer: SV DEF IPR OPR
Dancer2: DEF
David: IV SV OCC DEF MB IPR OPR
David2: IPR OPR
David3: OCC DEF OPR BC
Deer: MB FM IPR BC LR
Diving: SV DEF IPR
Dog: SV DEF OPR
Dog1: SV IPR OPR
Doll: IV SV OCC IPR OPR
DragonBaby: SV OCC MB FM IPR OPR OV
Dudek: SV OCC DEF FM IPR OPR OV BC
FaceOcc1: OCC
FaceOcc2: IV OCC IPR OPR
Fish: IV
FleetFace: SV DEF MB FM IPR OPR
Football: OCC IPR OPR BC
Football1: IPR OPR BC
Freeman1: SV IPR OPR
Freeman3: SV IPR OPR
Freeman4: SV OCC IPR OPR
Girl: SV OCC IPR OPR
Girl2: SV OCC DEF MB OPR
Gym: SV DEF IPR OPR
Human2: IV SV MB OPR
Human3: SV OCC DEF OPR BC
Human4.2: IV SV OCC DEF
Human5: SV OCC DEF
Human6: SV OCC DEF FM OPR OV
Human7: IV SV OCC DEF MB FM
Human8: IV SV DEF
Human9: IV SV DEF MB FM
Ironman: IV SV OCC MB FM IPR OPR OV BC LR
Jogging.1: OCC DEF OPR
Jogging.2: OCC DEF OPR
Jump: SV OCC DEF MB FM IPR OPR
Jumping: MB FM
KiteSurf: IV OCC IPR OPR
Lemming: IV SV OCC FM OPR OV
Liquor: IV SV OCC MB FM OPR OV BC
Man: IV
Matrix: IV SV OCC FM IPR OPR BC
Mhyang: IV DEF OPR BC
MotorRolling: IV SV MB FM IPR BC LR
MountainBike: IPR OPR BC
Panda: SV OCC DEF IPR OPR OV LR
RedTeam: SV OCC IPR OPR LR
Rubik: SV OCC IPR OPR
Shaking: IV SV IPR OPR BC
Singer1: IV SV OCC OPR
Singer2: IV DEF IPR OPR BC
Skater: SV DEF IPR OPR
Skater2: SV DEF FM IPR OPR
Skating1: IV SV OCC DEF OPR BC
Skating2.1: SV OCC DEF FM OPR
Skating2.2: SV OCC DEF FM OPR
Skiing: IV SV DEF IPR OPR
Soccer: IV SV OCC MB FM IPR OPR BC
Subway: OCC DEF BC
Surfer: SV FM IPR OPR LR
Suv: OCC IPR OV
Sylvester: IV IPR OPR
Tiger1: IV OCC DEF MB FM IPR OPR
Tiger2: IV OCC DEF MB FM IPR OPR OV
Toy: SV FM IPR OPR
Trans: IV SV OCC DEF
Trellis: IV SV IPR OPR BC
Twinnings: SV OPR
Vase: SV FM IPR
Walking: SV OCC DEF
Walking2: SV OCC LR
Woman: IV SV OCC DEF MB FM OPR
"""
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    name.strip(): tuple(labels.split())
    for name, _, labels in (line.partition(":") for line in _ATTRIBUTE_TABLE.strip().splitlines())
}
