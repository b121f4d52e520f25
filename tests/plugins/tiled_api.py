"""The Tiled scripting API names plugins/tiled/manifold.js uses, and the names Tiled declares.

`used_names(js)` reads the extension: every member it reads or calls on Tiled's objects, as
"Class.member" (`tiled.prompt`, `Process.exec`, `Tileset.tileCount`, ...). The extension's own
variables name the class: `proc` is a Process, `tileset` a Tileset, and so on (RECEIVERS); a
`new Process()` or `new TextFile()` stored in any other name is an error, so nothing slips past.

`declared(dts)` reads Tiled's docs/scripting-doc/index.d.ts: for each class, interface and
namespace its members, the class it extends, and which members are marked @deprecated.

Run as a script to write tiled_api_names.txt from a mapeditor/tiled git directory:

    python tests/plugins/tiled_api.py /path/to/mapeditor/tiled.git v1.8.2 v1.12.2
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXTENSION = HERE.parents[1] / "plugins" / "tiled" / "manifold.js"
NAMES_FILE = HERE / "tiled_api_names.txt"
DTS_PATH = "docs/scripting-doc/index.d.ts"

# The extension's variable names and the Tiled type each holds.
RECEIVERS = {
    "tiled": "tiled", "FileInfo": "FileInfo", "File": "File", "TextFile": "TextFile",
    "proc": "Process", "file": "TextFile", "tileset": "Tileset", "asset": "Asset", "assets[i]": "Asset",
    "opened": "Asset", "reloaded": "Asset", "action": "Action", "objects[i]": "TiledObject",
    "map": "TileMap", "selected[i]": "Tile", "tilesets[t]": "Tileset",
}
# Chains through objects the extension does not store: tiled.mapEditor.tilesetsView.currentTileset.
CHAINS = {
    "tiled.mapEditor.tilesetsView.currentTileset":
        ["tiled.mapEditor", "MapEditor.tilesetsView", "TilesetsView.currentTileset"],
    "tiled.mapEditor.tilesetsView.selectedTiles":
        ["tiled.mapEditor", "MapEditor.tilesetsView", "TilesetsView.selectedTiles"],
}


def strip_comments(js: str) -> str:
    js = re.sub(r"/\*.*?\*/", " ", js, flags=re.S)
    return re.sub(r"(?m)//.*$", " ", js)


def used_names(js: str) -> set[str]:
    code = strip_comments(js)
    for var, cls in re.findall(r"\b(\w+)\s*=\s*new\s+(Process|TextFile)\s*\(", code):
        if RECEIVERS.get(var) != cls:
            raise ValueError(f"`{var} = new {cls}(...)`: name it as RECEIVERS says, or add it there")
    names: set[str] = set()
    for chain, parts in CHAINS.items():
        if chain in code:
            names.update(parts)
            code = code.replace(chain, " ")
    receivers = "|".join(re.escape(r) for r in sorted(RECEIVERS, key=len, reverse=True))
    for receiver, member in re.findall(rf"(?<![\w.\]])({receivers})\s*\.\s*([A-Za-z_]\w*)", code):
        names.add(f"{RECEIVERS[receiver]}.{member}")
    return names


_BLOCK = re.compile(r"^(?:declare\s+)?(class|interface|namespace)\s+(\w+)(?:<[^>]*>)?"
                    r"(?:\s+extends\s+(\w+))?[^{]*\{", re.M)
_MEMBER = re.compile(r"^\s*(?:export\s+)?(?:public\s+|protected\s+)?(?:static\s+)?(?:readonly\s+)?(?:function\s+|const\s+|let\s+)?"
                     r"(\w+)\s*[?]?\s*[:(<]")


def declared(dts: str) -> dict[str, dict]:
    """{type: {"extends": name or None, "members": {member: deprecated (bool)}}}; repeated
    declarations of one name are merged."""
    types: dict[str, dict] = {}
    for m in _BLOCK.finditer(dts):
        _kind, name, base = m.groups()
        entry = types.setdefault(name, {"extends": None, "members": {}})
        entry["extends"] = entry["extends"] or base
        depth, i, body_start = 1, m.end(), m.end()
        while depth and i < len(dts):
            depth += {"{": 1, "}": -1}.get(dts[i], 0)
            i += 1
        body = dts[body_start:i - 1]
        # Members are at the block's own depth: drop nested braces and comments, keeping the
        # @deprecated mark of the comment just before a member.
        depth = 0
        flat = []
        for ch in body:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif depth == 0:
                flat.append(ch)
        text = "".join(flat)
        deprecated_next = False
        for chunk in re.split(r"(/\*\*.*?\*/)", text, flags=re.S):
            if chunk.startswith("/**"):
                deprecated_next = "@deprecated" in chunk
                continue
            for line in chunk.splitlines():
                line = re.sub(r"//.*$", "", line)
                mm = _MEMBER.match(line)
                if mm and mm.group(1) not in ("constructor", "new"):
                    entry["members"][mm.group(1)] = entry["members"].get(mm.group(1), False) or deprecated_next
                    deprecated_next = False
    return types


def lookup(types: dict[str, dict], qualified: str) -> bool | None:
    """None when `Type.member` is not declared (also through `extends`); else whether deprecated."""
    cls, member = qualified.split(".", 1)
    seen = set()
    while cls and cls not in seen:
        seen.add(cls)
        entry = types.get(cls)
        if entry is None:
            return None
        if member in entry["members"]:
            return entry["members"][member]
        cls = entry["extends"]
    return None


def read_names_file(path: Path = NAMES_FILE) -> tuple[list[str], dict[str, dict[str, str]]]:
    """(the versions, {name: {version: "yes" | "deprecated" | "no"}})."""
    versions, names = [], {}
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split()
        if fields[0] == "name":
            versions = fields[1:]
            continue
        names[fields[0]] = dict(zip(versions, fields[1:]))
    return versions, names


def main(git_dir: str, *tags: str) -> None:
    used = sorted(used_names(EXTENSION.read_text()))
    header = ["# The Tiled scripting API names plugins/tiled/manifold.js uses, and whether each version's",
              f"# {DTS_PATH} (mapeditor/tiled) declares them: yes, deprecated or no.",
              "# Written by tests/plugins/tiled_api.py from these tags:"]
    table = {}
    for tag in tags:
        commit = subprocess.run(["git", "--git-dir", git_dir, "rev-parse", f"{tag}^{{commit}}"], check=True,
                                capture_output=True, text=True).stdout.strip()
        header.append(f"#   {tag} {commit}")
        dts = subprocess.run(["git", "--git-dir", git_dir, "show", f"{tag}:{DTS_PATH}"], check=True,
                             capture_output=True, text=True).stdout
        types = declared(dts)
        for name in used:
            state = lookup(types, name)
            table.setdefault(name, []).append("no" if state is None else ("deprecated" if state else "yes"))
    width = max(len(n) for n in used)
    lines = header + ["name".ljust(width) + "  " + "  ".join(t.lstrip("v") for t in tags)]
    lines += [name.ljust(width) + "  " + "  ".join(table[name]) for name in used]
    NAMES_FILE.write_text("\n".join(lines) + "\n")
    print(f"wrote {NAMES_FILE} ({len(used)} names)")


if __name__ == "__main__":
    main(*sys.argv[1:])
