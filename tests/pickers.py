"""Drive the booking form's site pickers (Tom Select) as a person does: type without accents, click the offer."""


def pick_site(page, label, typed, offered):
    """Type `typed` into the picker labelled `label` and click the offer whose text holds `offered`.

    The offers are the pickers' own list (role option), so a test sees what a
    person sees: the site's name with its district.
    """
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.fill(typed)
    wrapper = box.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' ts-wrapper ')]")
    wrapper.get_by_role("option").filter(has_text=offered).first.click()
    page.keyboard.press("Escape")


def pick_sites(page, label, sites):
    """Pick each of sites (endpoints) in the multiple picker labelled `label`, typing their names without accents."""
    from vmeeting.text import fold

    for site in sites:
        pick_site(page, label, fold(site.name), site.name)
