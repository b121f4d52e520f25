"""The Tiled project the Tiled tests share: procedural tiles on sheets and as single images, and
the .tsx/.tmx XML as Tiled 1.8 writes it (kept here so no test module imports another)."""

import base64
import struct
import zlib
from pathlib import Path

import numpy as np
from tiled_helpers import make_sheet, save

from manifold_core.synthetic import make_tiles
from manifold_core.tiles import Grid

TERRAIN = Grid(32, 32, margin=1, spacing=2)
EMPTY = 5  # a fully transparent cell of terrain.png
FLIPPED = 0x80000000  # Tiled's horizontal-flip bit: GIDs carry flags that must survive untouched

TERRAIN_TSX = """<?xml version="1.0" encoding="UTF-8"?>
<tileset version="1.8" tiledversion="1.8.2" name="terrain" tilewidth="32" tileheight="32" spacing="2" margin="1" tilecount="12" columns="4" objectalignment="bottom">
 <!-- hand-written for the tests -->
 <editorsettings><export target="terrain.json" format="json"/></editorsettings>
 <tileoffset x="2" y="-4"/>
 <properties><property name="biome" value="forest"/><property name="readme" type="file" value="docs/terrain.txt"/></properties>
 <image source="img/terrain.png" width="136" height="102"/>
 <tile id="3" type="wall" probability="0.5">
  <properties><property name="solid" type="bool" value="true"/><property name="cost" type="int" value="7"/></properties>
  <objectgroup draworder="index" id="2"><object id="1" x="2" y="3" width="20" height="10"/><object id="2" x="4" y="4"><polygon points="0,0 8,0 8,6.5"/></object></objectgroup>
 </tile>
 <tile id="4"><animation><frame tileid="4" duration="100"/><frame tileid="7" duration="150"/></animation></tile>
 <wangsets>
  <wangset name="ground" type="corner" tile="-1">
   <wangcolor name="grass" color="#00ff00" tile="0" probability="1"/>
   <wangtile tileid="0" wangid="0,1,0,1,0,1,0,1"/>
  </wangset>
 </wangsets>
</tileset>
"""

PROPS = """ <tileset firstgid="13" name="props" tilewidth="32" tileheight="64" tilecount="3" columns="0">
  <grid orientation="orthogonal" width="1" height="1"/>
  <tile id="0"><image width="32" height="64" source="img/props/tree.png"/></tile>
  <tile id="1"><image width="32" height="32" source="img/props/rock.png"/></tile>
  <tile id="2"><image width="16" height="16" source="img/props/ghost.png"/></tile>
 </tileset>
 <tileset firstgid="16" name="items" tilewidth="32" tileheight="32" tilecount="4" columns="2">
  <tileoffset x="0" y="4"/>
  <image source="img/items.png" width="64" height="64"/>
 </tileset>"""


def zlib_layer(gids):
    return base64.b64encode(zlib.compress(struct.pack(f"<{len(gids)}I", *gids))).decode()


ITEMS = [16, 17 | FLIPPED, 0, 18, 0, 0, 19, 1, 13, 14, 15, 0]

LEVEL_TMX = f"""<?xml version="1.0" encoding="UTF-8"?>
<map version="1.8" tiledversion="1.8.2" orientation="orthogonal" renderorder="right-down" width="4" height="3" tilewidth="32" tileheight="32" infinite="0" nextlayerid="6" nextobjectid="6">
 <properties><property name="music" type="file" value="sound/theme.ogg"/><property name="title" value="Level 1"/></properties>
 <tileset firstgid="1" source="terrain.tsx"/>
{PROPS}
 <layer id="1" name="ground" width="4" height="3">
  <data encoding="csv">
1,2,3,4,
5,6,7,8,
9,10,11,{12 | FLIPPED}
</data>
 </layer>
 <layer id="2" name="items" width="4" height="3" offsetx="3" offsety="-2" opacity="0.5">
  <properties><property name="kind" value="loot"/></properties>
  <data encoding="base64" compression="zlib">{zlib_layer(ITEMS)}</data>
 </layer>
 <group id="3" name="g" offsetx="8" offsety="8">
  <objectgroup id="4" name="things" color="#ff0000">
   <object id="1" name="tree" gid="13" x="32" y="96" width="32" height="64"/>
   <object id="2" name="zone" type="trigger" x="10.5" y="20" width="40" height="16"><properties><property name="to" value="level2"/></properties></object>
   <object id="3" x="5" y="5"><polygon points="0,0 16,8 4,12"/></object>
   <object id="4" x="64" y="0"><polyline points="0,0 32,32"/></object>
   <object id="5" x="0" y="64" width="64" height="20"><text pixelsize="12" wrap="1">Hello</text></object>
  </objectgroup>
 </group>
 <imagelayer id="5" name="bg"><image source="img/bg.png" width="8" height="8"/></imagelayer>
</map>
"""


def build_project(root: Path) -> Path:
    """maps/level.tmx with an external sheet tileset, an embedded image collection and an embedded sheet."""
    maps = root / "maps"
    tiles = make_tiles(12, 32, seed=3)
    tiles[EMPTY] = 0
    save(maps / "img" / "terrain.png", make_sheet(tiles, 4, TERRAIN))
    save(maps / "img" / "items.png", make_sheet(make_tiles(4, 32, seed=4), 2, Grid(32, 32)))
    save(maps / "img" / "props" / "tree.png", np.concatenate(make_tiles(2, 32, seed=5)))  # 32x64
    save(maps / "img" / "props" / "rock.png", make_tiles(1, 32, seed=6)[0])
    save(maps / "img" / "props" / "ghost.png", np.zeros((16, 16, 4), np.uint8))  # empty: stays empty
    save(maps / "img" / "bg.png", np.full((8, 8, 4), 90, np.uint8))
    (maps / "terrain.tsx").write_text(TERRAIN_TSX)
    (maps / "level.tmx").write_text(LEVEL_TMX)
    return maps / "level.tmx"
