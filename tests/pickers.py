"""Drive the booking form's site pickers (Tom Select) as a person does: type without accents, click the offer."""

from playwright.sync_api import expect


def picker(page, label):
    """The search box of the picker labelled `label`, and the Tom Select wrapper around it."""
    box = page.get_by_role("combobox", name=label, exact=True)
    return box, box.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' ts-wrapper ')]")


def pick_site(page, label, typed, offered):
    """Type `typed` into the picker labelled `label`, click the offer whose text holds `offered`, close the list.

    The offers are the pickers' own list (role option), so a test sees what a
    person sees: the site's name with its district. It goes on once the site
    shows as picked and the list is closed, as a person would before the next
    field.
    """
    box, wrapper = picker(page, label)
    box.click()
    box.fill(typed)
    wrapper.get_by_role("option").filter(has_text=offered).first.click()
    expect(wrapper.locator(".ts-control .item").filter(has_text=offered).first).to_be_visible()
    page.keyboard.press("Escape")
    expect(wrapper.locator(".ts-dropdown")).to_be_hidden()


def pick_sites(page, label, sites):
    """Pick each of sites (endpoints) in the multiple picker labelled `label`, typing their names without accents."""
    from vmeeting.core.text import fold

    for site in sites:
        pick_site(page, label, fold(site.name), site.name)
