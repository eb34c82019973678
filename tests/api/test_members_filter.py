"""The members list filtered as people type (a place by its name or code, a member by part of
their name), its mistakes said on the page itself, and every view of personal data in the
audit trail — who, where, how many, which filter — without the data itself.

One real server per database on the analysed demo (its members are fictional: 王演示1 …).
"""

from __future__ import annotations

from html import unescape

import httpx
import pytest
from servers import ADMIN, demo_server, headers

JINXIU = "510199001001"  # 锦绣社区; the 社区协调员 test account's area
COORDINATOR, VIEWER = "社区协调员", "查看者"


@pytest.fixture(scope="module", params=["spatialite", "postgis"])
def server(request, tmp_path_factory):
    yield from demo_server(request, tmp_path_factory, "membersfilter")


def members(base: str, who: str = ADMIN, **params) -> httpx.Response:
    return httpx.get(base + "/api/members", params={"limit": 5000, **params}, headers=headers(base, who), timeout=60)  # fmt: skip


def page(base: str, who: str = ADMIN, path: str = "/members", **params) -> httpx.Response:
    return httpx.get(base + path, params=params, headers={**headers(base, who), "Accept": "text/html"}, timeout=60)  # fmt: skip


def codes(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {m["code"] for m in response.json()["members"]}


def test_a_place_is_found_by_its_name_as_by_its_code_and_a_member_by_part_of_the_name(server):
    community = codes(members(server, place=JINXIU))
    assert community and codes(members(server, place="锦绣社区")) == community
    assert members(server, place="锦绣社区").json()["place"] == f"锦绣社区（{JINXIU}）"
    compound = codes(members(server, place="锦绣花园"))
    assert compound and compound == codes(members(server, place="XQ001")) and compound < community
    # a building: the members the analysis places in it (DY00001 lives at 锦绣花园6栋)
    building = members(server, place="XQ001-06").json()
    assert "DY00001" in codes(members(server, place="XQ001-06"))
    assert {m["building_code"] for m in building["members"]} == {"XQ001-06"}
    by_name = members(server, place="锦绣社区", name="演示1").json()["members"]
    assert by_name and {m["code"] for m in by_name} < community
    assert all("演示1" in m["name"] for m in by_name)
    # roles that see counts only may not search by name (the count would tell who lives where)
    assert members(server, VIEWER, place="锦绣社区", name="王").status_code == 403


def test_a_place_unknown_ambiguous_or_outside_the_area_is_said_on_the_page_with_the_form_kept(server):  # fmt: skip
    unknown = page(server, COORDINATOR, place="没有这个地方", name="演示")
    assert unknown.status_code == 404 and 'id="members-problem"' in unknown.text
    text = unescape(unknown.text)
    assert "没有名称或编号为“没有这个地方”的地点" in text and 'value="没有这个地方"' in text
    assert 'value="演示"' in text and 'href="/members"' in text  # the form as typed, a way back
    # a neighbour's compound reads as absent to the coordinator of 锦绣社区
    outside = page(server, COORDINATOR, place="金桂小区")
    assert outside.status_code == 404 and "没有名称或编号为“金桂小区”的地点" in unescape(
        outside.text
    )
    several = page(server, ADMIN, place="锦绣")
    assert several.status_code == 404 and 'id="place-candidates"' in several.text
    assert f'href="?place={JINXIU}&name="' in several.text
    too_long = page(server, ADMIN, place="锦" * 65)
    assert too_long.status_code == 400 and 'id="members-problem"' in too_long.text


def test_every_view_of_personal_data_is_in_the_audit_trail_without_the_data(server):
    before = members(server, ADMIN, place=JINXIU).json()["members"]
    shown = page(server, COORDINATOR, place="锦绣花园", name="演示")
    assert shown.status_code == 200 and "共" in shown.text
    listed = members(server, COORDINATOR, name="王演示1", limit=3).json()
    page(server, VIEWER, place="锦绣社区")  # counts only: nothing personal, nothing audited
    trail = httpx.get(server + "/api/audit", params={"action": "view_personal", "actor": COORDINATOR},
                      headers=headers(server), timeout=30).json()["entries"]  # fmt: skip
    api, on_page = trail[0]["summary"], trail[1]["summary"]
    assert on_page["place"] == "锦绣花园（XQ001）" and on_page["via"] == "page"
    assert on_page["name_filter"] is True and on_page["rows"] == on_page["total"] > 0
    assert api == {"place": f"锦绣社区（{JINXIU}）", "rows": 3, "total": listed["total"],
                   "name_filter": True, "via": "api"}  # fmt: skip
    assert not httpx.get(server + "/api/audit", params={"actor": VIEWER, "action": "view_personal"},
                         headers=headers(server), timeout=30).json()["entries"]  # fmt: skip
    everything = httpx.get(server + "/api/audit.csv", headers=headers(server), timeout=30).text
    assert "王演示1" not in everything  # the name searched for is not kept
    assert not [m for m in before if m["name"] in everything or m["phone"] in everything]
    # the audit page says it in words, Chinese first
    audit = page(server, ADMIN, "/admin/audit", action="view_personal")
    assert "在党员名单页查看了锦绣花园（XQ001）的党员个人信息" in audit.text
    assert "通过接口查看了锦绣社区（510199001001）的党员个人信息 3 条" in audit.text
