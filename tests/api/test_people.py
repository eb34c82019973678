"""Who serves each place (/api/people) and the contact list (/api/people/contacts.csv|.xlsx):
names and personal phones for those who may see personal data in the place, masked names and
public duty phones for the others, nothing of a place outside the caller's area, and every
answer with names in the audit trail.

One real server per database on the demo (its staff are fictional: 李演示0001 …, personal
phones 1009000xxxx, duty phones 100-8800-xxxx); no analysis is needed.
"""

from __future__ import annotations

import csv

import httpx
import pytest
from servers import ADMIN, demo_server, headers

from gridmap.cli import DEMO_DATA

JINXIU, NEIGHBOUR = "510199001001", "510199001002"  # 锦绣社区 (the coordinator's) and the next
COORDINATOR, VIEWER = "社区协调员", "查看者"
with (DEMO_DATA / "staff.csv").open(encoding="gbk") as f:
    PERSONAL = [row["手机"] for row in csv.DictReader(f) if row["手机"]]


@pytest.fixture(scope="module", params=["spatialite", "postgis"])
def server(request, tmp_path_factory):
    yield from demo_server(request, tmp_path_factory, "people", analyse=False)


def get(base: str, who: str, path: str = "/api/people", **params) -> httpx.Response:
    return httpx.get(base + path, params=params, headers=headers(base, who), timeout=60)


def test_an_admin_sees_names_and_personal_phones_and_the_view_is_audited(server):
    answer = get(server, ADMIN, level="grid", code="DJ101").json()
    assert answer["place"] == "锦绣社区第1网格（DJ101）" and not answer["masked"]
    first = answer["posts"][0]
    assert (first["role_zh"], first["name"], first["phone"]) == ("专职网格员", "李演示0001", "10090000001")  # fmt: skip
    assert first["duty_phone"] == "100-8800-0001" and first["took_post"] == "2023-02-01"
    branch = get(server, ADMIN, level="branch", code="锦绣花园党支部").json()["posts"]
    assert branch[0]["role"] == "secretary" and branch[0]["party_member"] is True
    assert not any(p["term_due"] for p in branch)
    due = get(server, ADMIN, level="branch", code="南苑苑党支部").json()[
        "posts"
    ]  # planted 换届提醒
    assert [p["role"] for p in due if p["term_due"]] == ["secretary"]
    trail = httpx.get(server + "/api/audit", params={"action": "people_personal"}, headers=headers(server), timeout=30).json()["entries"]  # fmt: skip
    assert {"place": "锦绣社区第1网格（DJ101）", "people": len(answer["posts"])} in [e["summary"] for e in trail]  # fmt: skip


def test_a_viewer_reads_masked_names_and_duty_phones_only(server):
    answers = [get(server, VIEWER, level=level, code=code)
               for level, code in (("grid", "DJ101"), ("community", JINXIU), ("branch", "锦绣花园党支部"))]  # fmt: skip
    listing = get(server, VIEWER, "/api/people/contacts.csv")
    sheet = get(server, VIEWER, "/api/people/contacts.xlsx", community=JINXIU)
    assert all(r.status_code == 200 for r in [*answers, listing, sheet])
    posts = [p for r in answers for p in r.json()["posts"]]
    assert posts and all("phone" not in p and "演示" not in p["name"] for p in posts)
    assert posts[0]["name"] == "李*****1" and posts[0]["duty_phone"] == "100-8800-0001"
    text = listing.content.decode("utf-8-sig")
    assert text.startswith("职务,服务地点,姓名,值班电话\r\n") and "100-8800-0001" in text
    assert "锦绣社区第1网格（DJ101）" in text
    for body in (*(r.text for r in answers), text):
        assert not [p for p in PERSONAL if p in body] and "演示" not in body
    refused = get(server, VIEWER, "/api/people/contacts.csv", include_personal="true")
    assert refused.status_code == 403


def test_a_coordinator_sees_nothing_of_another_community_and_exports_their_own(server):
    assert get(server, COORDINATOR, level="community", code=NEIGHBOUR).status_code == 404
    assert get(server, COORDINATOR, level="grid", code="DJ201").status_code == 404
    assert get(server, COORDINATOR, "/api/people/contacts.csv", community=NEIGHBOUR).status_code == 404  # fmt: skip
    own = get(server, COORDINATOR, "/api/people/contacts.csv", include_personal="true").content.decode("utf-8-sig")  # fmt: skip
    assert "10090000001" in own and "锦绣社区第1网格（DJ101）" in own and "DJ201" not in own
    trail = httpx.get(server + "/api/audit", params={"action": "export_personal", "actor": COORDINATOR}, headers=headers(server), timeout=30).json()["entries"]  # fmt: skip
    assert trail[0]["summary"]["area"] == JINXIU and trail[0]["summary"]["format"] == "csv"
