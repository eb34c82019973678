"""Settings (配置), read from the environment with the prefix ``GRIDMAP_``.

Every number of the Party organisation rules and every tolerance is a setting whose default is
the rule of ``docs/domain.md``; local rules differ, so nothing here is hard-coded elsewhere.

Examples
--------
>>> Settings(branch_min_full_members=4).branch_min_full_members
4
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "gridmap-development-secret-change-me"


class Settings(BaseSettings):
    """All of gridmap's configuration; build one and pass it down, never read globals."""

    model_config = SettingsConfigDict(env_prefix="GRIDMAP_", env_file=None, extra="ignore")

    # --- where things live -----------------------------------------------------------------
    database_url: str = Field(
        "sqlite:///gridmap.db",
        description="SQLAlchemy URL: sqlite:///FILE (SpatiaLite) or postgresql+psycopg://… (PostGIS)",
    )
    environment: Literal["development", "production"] = "development"
    secret_key: str = DEV_SECRET
    host: str = "127.0.0.1"
    port: int = 8000
    session_hours: float = Field(8.0, gt=0, description="登录会话有效时长 (小时), 每次访问顺延")
    max_concurrent_requests: int = Field(
        16, ge=1, le=200, description="同时处理的请求数 (其余排队等待); 数据库连接池为其两倍"
    )
    cookie_secure: bool = Field(
        False, description="会话 Cookie 仅经 HTTPS 发送 (服务在 HTTPS 反向代理之后时打开)"
    )
    seed_cache: bool = Field(
        True, description="启动时与数据变化后预先绘制常用图层与问题 (每个服务进程一次)"
    )

    # --- Party organisation rules (党支部工作条例 2018, 党章) --------------------------------
    branch_min_full_members: int = Field(3, description="正式党员 3 人以上成立党支部")
    committee_min_full_members: int = Field(7, description="正式党员 7 人以上设支部委员会")
    branch_max_members: int = Field(50, description="党支部党员一般不超过 50 人")
    general_branch_min_members: int = Field(50, description="党员 50 人以上可设党总支")
    party_committee_min_members: int = Field(100, description="党员 100 人以上可设党委")
    joint_branch_max_units: int = Field(5, description="联合党支部覆盖单位一般不超过 5 个")
    joint_branch_max_distance_m: float = Field(500.0, description="可联合组建的小区最远距离 (米)")

    # --- grids --------------------------------------------------------------------------------
    grid_households_min: int = Field(300, description="网格户数下限 (城市 300–500, 农村约 200)")
    grid_households_max: int = Field(500, description="网格户数上限")

    # --- the people who serve the places (gridmap.core.staffing) ----------------------------
    worker_max_households: int = Field(
        500, gt=0, description="每名网格员服务户数上限 (网格户数上限)"
    )
    secretary_min_party_years: float = Field(
        1.0, ge=0, description="党支部书记最少党龄 (年, 党支部工作条例 2018)"
    )
    building_head_min_households: int = Field(
        50, ge=0, description="户数达到此值的楼栋应有楼栋长或单元长"
    )
    community_workers_per_10k: float = Field(
        18.0, ge=0, description="每万名居民的社区工作者配备标准 (多地标准 18 人)"
    )
    persons_per_household: float = Field(
        2.62, gt=0, description="无人口数时按户数估算居民: 每户人数 (第七次人口普查 2.62)"
    )
    term_years: float = Field(5.0, gt=0, description="任期 (年): 超过即提示换届")
    staffing_as_of: date | None = Field(None, description="计算党龄与任期的日期 (空: 当天)")

    # --- geometry tolerances ---------------------------------------------------------------
    overlap_tolerance_m2: float = Field(1.0, description="同层要素重叠超过此面积 (平方米) 才报告")
    gap_tolerance_m2: float = Field(1.0, description="留白超过此面积 (平方米) 才报告")
    sliver_max_width_m: float = Field(2.0, description="平均宽度 (2×面积/周长) 小于此值视为碎片")
    snap_tolerance_m: float = Field(
        0.05, description="数字化误差容差 (米): 更细的缝隙和重叠视为同一条边界"
    )
    share_threshold: float = Field(0.8, description="归属占比低于此值时报告, 不静默选择")

    # --- assignment and reach --------------------------------------------------------------
    member_snap_distance_m: float = Field(10.0, description="党员住址点距楼栋多远以内吸附到楼栋")
    station_radius_m: float = Field(1000.0, description="党群服务站步行服务半径 (15 分钟生活圈)")
    timezone: str = Field("Asia/Shanghai", description="页面显示时间所用的时区 (审计日志等)")
    address_disagree_m: float = Field(
        100.0, gt=0, description="住址落位点与表中坐标相距超过此值 (米) 时在导入报告中列出"
    )

    # --- personal data --------------------------------------------------------------------------
    min_count_shown: int = Field(
        3,
        ge=1,
        description="任意绘制形状的党员数少于此值时, 对无权查看个人信息的角色只显示 “<N” (防止定位个人)",
    )

    # --- map ----------------------------------------------------------------------------------
    basemap: Literal["none", "xyz", "tianditu", "amap"] = Field(
        "none",
        description="底图: none (默认, 完全离线) / xyz (本地瓦片目录) / tianditu (天地图, 需密钥) / amap (高德, 数据按 GCJ-02 偏移显示)",
    )
    basemap_tiles: Path | None = Field(
        None, description="本地 XYZ 瓦片目录 ({z}/{x}/{y}.png), basemap=xyz 时使用"
    )
    tianditu_key: str = Field("", description="天地图密钥 (tk), basemap=tianditu 时使用")

    # --- imports ------------------------------------------------------------------------------
    import_chunk_rows: int = Field(5000, description="导入时每批写入的行数")

    # --- limits of what one request may send (uploads, plan bodies) ----------------------------
    max_upload_mb: float = Field(
        50.0, gt=0, description="上传文件或方案请求体的最大大小 (MB), 超过返回 413"
    )
    max_unzipped_mb: float = Field(
        500.0, gt=0, description="压缩包解压后的最大总大小 (MB), 防止压缩炸弹"
    )
    max_upload_features: int = Field(
        50_000, gt=0, description="一个上传文件或一次请求中最多的要素数"
    )
    max_plan_extent_km: float = Field(
        300.0, gt=0, description="一次请求中的网格须落在此宽度 (公里) 的范围内"
    )

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError(
                "生产环境必须设置 GRIDMAP_SECRET_KEY / set GRIDMAP_SECRET_KEY in production"
            )
        if self.basemap == "xyz" and not (self.basemap_tiles and self.basemap_tiles.is_dir()):
            raise ValueError(
                "basemap=xyz 需要 GRIDMAP_BASEMAP_TILES 指向瓦片目录 / "
                "basemap=xyz needs GRIDMAP_BASEMAP_TILES to name a tile directory"
            )
        if self.basemap == "tianditu" and not self.tianditu_key:
            raise ValueError(
                "basemap=tianditu 需要 GRIDMAP_TIANDITU_KEY / basemap=tianditu needs GRIDMAP_TIANDITU_KEY"
            )
        if self.grid_households_min > self.grid_households_max:
            raise ValueError("grid_households_min must not exceed grid_households_max")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The SpatiaLite file of a ``sqlite:///FILE`` URL, or ``None`` for other databases."""
        if not self.is_sqlite:
            return None
        return Path(self.database_url.split("///", 1)[1])
