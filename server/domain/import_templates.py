"""The import templates of base data: one table of columns per kind, Chinese headers first.

The template files (``GET /api/v1/base/imports/<kind>/template``), the import's header check
and its messages ("第 12 行「公民身份号码」校验位错误") all read this table; docs/base-data.md
lists it. A header may carry a star (``姓名*``: required) and English after a slash is
ignored, so a filled-in template reads back as it was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ImportKind(StrEnum):
    ADDRESSES = "addresses"
    RESIDENTS = "residents"
    ORGANISATIONS = "organisations"


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    required: bool = False
    example: str = ""
    note: str = ""

    @property
    def header(self) -> str:
        return self.zh + ("*" if self.required else "")


ADDRESS_COLUMNS = (
    Column("grid_code", "网格编码", "grid code", True, "640181001001001", "15 位网格编码"),
    Column("estate", "小区/自然村", "estate or village", True, "幸福小区"),
    Column("building", "楼栋", "building", False, "3栋", "自然村的院落可空"),
    Column("unit", "单元", "unit", False, "2单元"),
    Column("room", "房号", "room", False, "502", "空：整栋/整院一户"),
    Column("address", "门牌地址", "door-plate address", True, "幸福路12号", "楼栋的门牌"),
    Column("lon", "经度", "longitude", False, "106.3412", "WGS84，可空"),
    Column("lat", "纬度", "latitude", False, "38.1023", "WGS84，可空"),
)

RESIDENT_COLUMNS = (
    Column("name", "姓名", "name", True, "张三"),
    Column("id_number", "公民身份号码", "identity number", True, "", "18 位，末位校验码"),
    Column("phone", "联系电话", "phone", False, "13800000000"),
    Column("residence", "户籍类别", "residence kind", True, "户籍", "户籍 或 流动"),
    Column("relation", "与户主关系", "relation to head", False, "户主", "户主、配偶、子女…"),
    Column("address", "门牌地址", "door-plate address", True, "幸福路12号"),
    Column("building", "楼栋", "building", False, "3栋"),
    Column("unit", "单元", "unit", False, "2单元"),
    Column("room", "房号", "room", False, "502"),
)

ORGANISATION_COLUMNS = (
    Column("name", "单位名称", "name", True, "灵武市示例商贸有限公司"),
    Column("credit_code", "统一社会信用代码", "credit code", True, "", "18 位，末位校验码"),
    Column("kind", "单位类型", "kind", False, "企业", "企业、社会组织、机关事业单位…"),
    Column("address", "门牌地址", "door-plate address", True, "幸福路12号"),
    Column("contact", "联系人", "contact person", False, "李四"),
    Column("phone", "联系电话", "phone", False, "09514000000"),
)

TEMPLATES: dict[ImportKind, tuple[Column, ...]] = {
    ImportKind.ADDRESSES: ADDRESS_COLUMNS,
    ImportKind.RESIDENTS: RESIDENT_COLUMNS,
    ImportKind.ORGANISATIONS: ORGANISATION_COLUMNS,
}
TITLES: dict[ImportKind, tuple[str, str]] = {
    ImportKind.ADDRESSES: ("地址房屋", "addresses"),
    ImportKind.RESIDENTS: ("实有人口", "residents"),
    ImportKind.ORGANISATIONS: ("单位组织", "organisations"),
}
INSTRUCTIONS = (
    "填写说明：带 * 的列必填；从第 3 行起每行一条；请勿修改表头。"
    "身份证号、信用代码请设为文本格式（避免科学计数法）。"
)


def header_key(text: str) -> str:
    """A header cell as given → its bare Chinese name (stars, spaces and '/English' dropped)."""
    bare = text.replace("*", "").replace("＊", "").strip()
    head, slash, tail = bare.rpartition("/")
    return head.strip() if slash and tail.strip().isascii() else bare


def match_header(kind: ImportKind, header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Column key → index in the file, and the missing required headers (Chinese names).
    Columns may come in any order; unknown extra columns are ignored."""
    at = {header_key(h): i for i, h in enumerate(header) if h}
    index: dict[str, int] = {}
    missing: list[str] = []
    for col in TEMPLATES[kind]:
        if col.zh in at:
            index[col.key] = at[col.zh]
        elif col.required:
            missing.append(col.zh)
    return index, missing
