"""Small bundled image sets: an image, a prompt and the ground truth for each sample.

The files live under ``<project root>/models/images/`` (see ``models/images/PROVENANCE.md``
for where each file comes from, its licence and sha256).  Three sets:

``choice-scene-classification``
    The 20 scene-classification questions of the CHOICE benchmark subset
    (ShawnAn-WHU/CHOICE, MIT).  ``prompt`` is CHOICE's own multiple-choice question,
    verbatim (options ``A.`` .. ``D.`` on their own lines; class names are CHOICE's,
    typos such as ``baseball_filed`` included).  ``reference`` is a
    ``(letter, class_name)`` tuple, e.g. ``("C", "airport")``; CHOICE scores the letter.
``spacenet-buildings``
    A 900 x 900 px, 0.5 m panchromatic SpaceNet tile (Atlanta, UTM 16N) from the
    ``solaris==0.4.0`` wheel, stretched to 8-bit greyscale (mode ``L``), with its 43
    building footprints converted to pixel coordinates.
``deepforest-trees``
    Three NEON airborne RGB crops from the ``deepforest==2.1.0`` wheel with their
    Pascal-VOC tree-crown boxes (labels ``Tree``, or ``Dead``/``Alive`` for SOAP_061).

Detection references are lists of ``(x1, y1, x2, y2, label)`` tuples in pixels of the
stored image: floats, origin at the top-left corner of the top-left pixel, ``x`` to the
right, ``y`` down, ``0 <= x1 < x2 <= width_px`` and likewise for ``y``.

Example::

    >>> from simulator.inference.images import list_image_sets, load_image_set
    >>> sorted(list_image_sets())
    ['choice-scene-classification', 'deepforest-trees', 'spacenet-buildings']
    >>> s = load_image_set("spacenet-buildings")[0]
    >>> s.task, s.prompt, len(s.reference), s.reference[0][4]
    ('detection', 'Detect all buildings in this image.', 43, 'building')
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from simulator import paths
from simulator.errors import InputError, lookup

SPACENET_PROMPT = "Detect all buildings in this image."
DEEPFOREST_PROMPT = "Detect all trees."

_SETS = {
    "choice-scene-classification": (
        "CHOICE scene classification: 20 RGB remote-sensing images, 4-option multiple-choice "
        "question each; reference = (letter, class name). MIT, ShawnAn-WHU/CHOICE."),
    "spacenet-buildings": (
        "SpaceNet building footprints: one 900x900 px 0.5 m panchromatic Atlanta tile "
        "(8-bit greyscale), 43 buildings as pixel boxes. From the solaris 0.4.0 wheel; "
        "SpaceNet data CC BY-SA 4.0."),
    "deepforest-trees": (
        "DeepForest tree crowns: 3 NEON airborne RGB crops (400x400, 400x400, 1249x1035 px), "
        "377 tree boxes. From the deepforest 2.1.0 wheel (MIT); NEON data CC0."),
}


def images_dir() -> Path:
    """``<project root>/models/images``."""
    return paths.project_root() / "models" / "images"


@dataclass(eq=False)
class ImageSample:
    """One image with its prompt and ground truth.

    ``image`` is opened on first access and kept; treat it as read-only (``.copy()`` it
    before editing).  ``width_px``/``height_px`` are read from the file header and
    ``size_bytes`` is the size of the stored file.
    """

    sample_id: str
    prompt: str
    reference: object
    task: str
    source: str
    width_px: int
    height_px: int
    size_bytes: int
    path: Path = field(repr=False)
    _image: Image.Image | None = field(default=None, init=False, repr=False)

    @property
    def image(self) -> Image.Image:
        if self._image is None:
            with Image.open(self.path) as im:
                im.load()
                self._image = im
        return self._image


def list_image_sets() -> dict[str, str]:
    """Name -> one-line description of every bundled image set."""
    return dict(_SETS)


def load_image_set(name: str) -> list[ImageSample]:
    """The samples of the set ``name`` (see :func:`list_image_sets`), in a fixed order."""
    loader = lookup(_LOADERS, name, "image set", "image set")
    folder = images_dir()
    if not folder.is_dir():
        raise InputError(f"image set {name!r}: folder {folder} not found "
                         "(set SPACEVERSE_HOME to the repository root)")
    return loader(folder)


def _sample(path: Path, **kw) -> ImageSample:
    if not path.is_file():
        raise InputError(f"image set: file {path} not found")
    with Image.open(path) as im:
        width, height = im.size
    return ImageSample(width_px=width, height_px=height, size_bytes=path.stat().st_size,
                       path=path, **kw)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"image set: file {path} not found") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None


def _choice_options(question: str) -> dict[str, str]:
    """``{"A": "storage_tanks", ...}`` from the ``A.xxx`` lines of a CHOICE question."""
    options = {}
    for line in question.splitlines():
        line = line.strip()
        if len(line) > 2 and line[0] in "ABCDEFGH" and line[1] == ".":
            options[line[0]] = line[2:].strip()
    return options


def _load_choice(root: Path) -> list[ImageSample]:
    folder = root / "choice_scene_classification"
    items = _read_json(folder / "scene_classification.json")
    samples = []
    for item in items:
        image_name = Path(item["image_path"]).name
        options = _choice_options(item["question"])
        letter = item["answer"].strip()
        if letter not in options:
            raise InputError(f"{folder / 'scene_classification.json'}: id {item['id']}: "
                             f"answer {letter!r} is not one of the options {sorted(options)}")
        samples.append(_sample(
            folder / "images" / image_name,
            sample_id=f"choice/{Path(image_name).stem}",
            prompt=item["question"],
            reference=(letter, options[letter]),
            task="classification",
            source=("ShawnAn-WHU/CHOICE@eb6c4304 CHOICE_subset/perception/image_level_comprehension/"
                    f"scene_classification/images/{image_name} (MIT)"),
        ))
    return samples


def _load_spacenet(root: Path) -> list[ImageSample]:
    folder = root / "spacenet_solaris"
    ann = _read_json(folder / "buildings_px.json")
    boxes = [(*(float(v) for v in b["box_px"]), ann["label"]) for b in ann["buildings"]]
    return [_sample(
        folder / ann["image"],
        sample_id="spacenet/sample_geotiff",
        prompt=SPACENET_PROMPT,
        reference=boxes,
        task="detection",
        source=("solaris 0.4.0 wheel, solaris/data/sample_geotiff.tif + geotiff_labels.geojson "
                "(SpaceNet, CC BY-SA 4.0; converted to 8-bit PNG and pixel boxes)"),
    )]


DEEPFOREST_IMAGES = ("OSBS_029", "SOAP_061", "2019_YELL_2_541000_4977000_image_crop")


def _voc_boxes(path: Path) -> list[tuple]:
    try:
        xml_root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise InputError(f"image set: file {path} not found") from None
    except ET.ParseError as exc:
        raise InputError(f"{path}: not valid XML ({exc})") from None
    return [(*(float(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")),
             obj.findtext("name"))
            for obj in xml_root.iter("object")]


def _load_deepforest(root: Path) -> list[ImageSample]:
    folder = root / "deepforest"
    return [_sample(
        folder / f"{stem}.png",
        sample_id=f"deepforest/{stem}",
        prompt=DEEPFOREST_PROMPT,
        reference=_voc_boxes(folder / f"{stem}.xml"),
        task="detection",
        source=f"deepforest 2.1.0 wheel, deepforest/data/{stem}.png + {stem}.xml (NEON AOP imagery)",
    ) for stem in DEEPFOREST_IMAGES]


_LOADERS = {
    "choice-scene-classification": _load_choice,
    "spacenet-buildings": _load_spacenet,
    "deepforest-trees": _load_deepforest,
}
