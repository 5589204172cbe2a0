"""Web shop UI steps, shared with the UI suite (not exercised by the API features)."""
from behave import then, when


@when('I open the web shop at "{path}"')
def step_open_shop(context, path):
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.add_argument("--headless=new")
    context.browser = webdriver.Chrome(options=options)
    context.browser.get(context.base_url + path)


@then('the page title contains "{text}"')
def step_title(context, text):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(context.browser, 5).until(ec.title_contains(text))
    assert context.browser.find_element(By.TAG_NAME, "h1")
