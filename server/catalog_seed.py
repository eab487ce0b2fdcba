"""Departments and case categories a county starts with.

Categories follow the major classes used by published local grid-management rules (市容环境,
街面秩序, 公共设施, 园林绿化, 施工管理, 安全隐患, 矛盾纠纷, 治安隐患, 民生服务) with time limits
of the kind those rules set: 暴露垃圾 4 working hours, 道路破损 5 working days; urgent cases run on
natural hours (``urgent_hours``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Category, Department

DEPARTMENTS: list[tuple[str, str]] = [
    ("CGJ", "综合执法局（城管）"),
    ("ZJJ", "住房和城乡建设局"),
    ("JTJ", "交通运输局"),
    ("STHJ", "生态环境分局"),
    ("SCJG", "市场监督管理局"),
    ("SWJ", "水务局"),
    ("GAJ", "公安局"),
    ("MZJ", "民政局"),
    ("YLJ", "园林绿化中心"),
    ("YJJ", "应急管理局"),
    ("SFJ", "司法局"),
]

# (code, name, name_en, limit_value, limit_unit, urgent_hours, default department code)
CATEGORIES: list[tuple[str, str, str, float, str, float, str | None]] = [
    ("01", "市容环境", "City appearance", 0, "work_days", 0, None),
    ("0101", "暴露垃圾", "Exposed rubbish", 4, "work_hours", 2, "CGJ"),
    ("0102", "积存垃圾渣土", "Accumulated waste", 1, "work_days", 4, "CGJ"),
    ("0103", "道路不洁", "Dirty road", 4, "work_hours", 2, "CGJ"),
    ("0104", "乱涂乱画、小广告", "Graffiti and flyers", 2, "work_days", 8, "CGJ"),
    ("0105", "违规占道晾晒", "Drying on the road", 1, "work_days", 4, "CGJ"),
    ("02", "街面秩序", "Street order", 0, "work_days", 0, None),
    ("0201", "占道经营", "Street vending", 4, "work_hours", 2, "CGJ"),
    ("0202", "店外经营", "Trading outside shops", 1, "work_days", 4, "CGJ"),
    ("0203", "机动车乱停放", "Illegal parking", 2, "work_hours", 1, "GAJ"),
    ("0204", "非法散发小广告", "Handing out flyers", 1, "work_days", 4, "CGJ"),
    ("03", "公共设施", "Public facilities", 0, "work_days", 0, None),
    ("0301", "道路破损", "Damaged road", 5, "work_days", 24, "JTJ"),
    ("0302", "井盖缺失破损", "Missing manhole cover", 4, "work_hours", 2, "ZJJ"),
    ("0303", "路灯不亮", "Street light out", 3, "work_days", 12, "ZJJ"),
    ("0304", "交通标志损坏", "Damaged traffic sign", 3, "work_days", 12, "JTJ"),
    ("0305", "供水管道漏水", "Water main leak", 1, "work_days", 4, "SWJ"),
    ("04", "园林绿化", "Parks and greenery", 0, "work_days", 0, None),
    ("0401", "绿地脏乱", "Littered green space", 1, "work_days", 4, "YLJ"),
    ("0402", "树木倒伏、断枝", "Fallen tree or branch", 4, "work_hours", 2, "YLJ"),
    ("0403", "绿地被占、毁坏", "Green space occupied", 3, "work_days", 12, "YLJ"),
    ("05", "施工管理", "Construction", 0, "work_days", 0, None),
    ("0501", "施工扰民", "Construction noise", 1, "work_days", 4, "ZJJ"),
    ("0502", "工地扬尘", "Construction dust", 4, "work_hours", 2, "STHJ"),
    ("0503", "道路遗撒", "Spilled load on road", 4, "work_hours", 2, "CGJ"),
    ("06", "安全隐患", "Safety hazards", 0, "work_days", 0, None),
    ("0601", "消防通道堵塞", "Blocked fire lane", 4, "work_hours", 1, "YJJ"),
    ("0602", "燃气安全隐患", "Gas hazard", 2, "work_hours", 1, "YJJ"),
    ("0603", "危房、墙体开裂", "Unsafe building", 1, "work_days", 4, "ZJJ"),
    ("07", "矛盾纠纷", "Disputes", 0, "work_days", 0, None),
    ("0701", "邻里纠纷", "Neighbour dispute", 5, "work_days", 24, "SFJ"),
    ("0702", "劳资纠纷", "Wage dispute", 5, "work_days", 24, "SFJ"),
    ("0703", "物业纠纷", "Property management dispute", 5, "work_days", 24, "ZJJ"),
    ("08", "治安隐患", "Public security", 0, "work_days", 0, None),
    ("0801", "可疑人员场所", "Suspicious place", 1, "work_days", 2, "GAJ"),
    ("0802", "群租房", "Overcrowded rental", 3, "work_days", 24, "GAJ"),
    ("09", "民生服务", "Public services", 0, "work_days", 0, None),
    ("0901", "特殊人群帮扶", "Help for vulnerable people", 5, "work_days", 24, "MZJ"),
    ("0902", "困难群众救助", "Relief for families in need", 5, "work_days", 24, "MZJ"),
    ("0903", "政策咨询", "Policy enquiry", 3, "work_days", 24, "MZJ"),
]


def seed_catalog(db: Session) -> tuple[int, int]:
    """Add missing departments and categories (existing ones are left as they are)."""
    deps = {d.code: d for d in db.scalars(select(Department))}
    added_deps = 0
    for code, name in DEPARTMENTS:
        if code not in deps:
            deps[code] = Department(code=code, name=name)
            db.add(deps[code])
            added_deps += 1
    db.flush()
    cats = {c.code: c for c in db.scalars(select(Category))}
    added_cats = 0
    for code, name, name_en, value, unit, urgent, dep in CATEGORIES:
        if code in cats:
            continue
        parent = cats.get(code[:2]) if len(code) == 4 else None
        cat = Category(
            code=code,
            name=name,
            name_en=name_en,
            parent_id=parent.id if parent else None,
            limit_value=value or 1,
            limit_unit=unit,
            urgent_hours=urgent or 1,
            default_department_id=deps[dep].id if dep else None,
        )
        db.add(cat)
        db.flush()
        cats[code] = cat
        added_cats += 1
    return added_deps, added_cats
