"""Logging in and out in a real browser, and what each role's pages show."""

from __future__ import annotations

from servers import PASSWORD


def test_the_map_asks_for_a_login_then_opens_and_logging_out_closes_it(anonymous, demo_server):
    page = anonymous.page
    anonymous.expected.append("401")  # the browser logs the refused password
    page.goto(demo_server + "/map")
    assert "/login?next=%2Fmap" in page.url
    assert page.locator("h1").inner_text().startswith("gridmap")
    page.fill("input[name=name]", "社区协调员")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.locator(".error").inner_text()
    assert page.input_value("input[name=name]") == "社区协调员"  # kept, the password is not
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(demo_server + "/map")
    page.wait_for_function("document.getElementById('map').dataset.ready === '1'")
    assert "社区协调员" in page.inner_text("#user") and "网格协调员" in page.inner_text("#user")
    assert page.locator("nav.user a[href='/editor']").count() == 0  # not a planner
    assert page.locator("nav.user a[href='/admin/audit']").count() == 0
    anonymous.shot("map-after-login.png")
    page.click("nav.user form.logout button:not([name=everywhere])")
    page.wait_for_url(demo_server + "/login")
    page.goto(demo_server + "/members")
    assert "/login" in page.url


def test_a_viewer_sees_member_counts_per_compound_and_an_admin_the_audit_trail(page_at, demo_server):  # fmt: skip
    viewer = page_at(demo_server, "查看者")
    viewer.page.goto(demo_server + "/members?place=510199001001")
    count = viewer.page.inner_text("#members-count")
    assert "不予显示" in count and viewer.page.locator("#masked-note").is_visible()
    assert viewer.page.locator("#members").count() == 0  # no member one by one
    compounds = viewer.page.locator("#member-counts tbody tr td:nth-child(1)").all_inner_texts()
    counts = viewer.page.locator("#member-counts tbody tr td:nth-child(3)").all_inner_texts()
    assert compounds[0] == "XQ001" and sum(int(n) for n in counts) == int(count.split()[1])
    admin = page_at(demo_server)
    admin.page.goto(demo_server + "/admin/audit?action=import")
    rows = admin.page.locator("#audit tbody tr")
    assert rows.count() > 0 and {a for a in rows.evaluate_all("rs => rs.map(r => r.dataset.action)")} == {"import"}  # fmt: skip
    admin.shot("audit.png")
