"""Order confirmation emails, XML inventory exports and invoices."""
import smtplib
from decimal import ROUND_HALF_UP, Decimal
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from xml.dom import minidom

from behave import then, when
from petstore import call


@when("I prepare the order confirmation email")
def step_prepare_email(context):
    message = MIMEMultipart("alternative")
    message["To"] = context.customer["email"]
    message["From"] = "shop@petstore.example"
    message["Subject"] = f"Your order #{context.order['id']}"
    text = f"Thank you {context.customer['name']}, {context.pet['name']} is on the way."
    message.attach(MIMEText(text, "plain"))
    message.attach(MIMEText(f"<p>{text}</p>", "html"))
    context.email = message


@then("the email is addressed to the customer")
def step_email_to(context):
    assert context.email["To"] == context.customer["email"]
    assert smtplib.quoteaddr(context.email["To"])


@then("the email mentions the pet's name")
def step_email_pet(context):
    body = context.email.get_payload()[0].get_payload(decode=True).decode()
    assert context.pet["name"] in body


@when("I export the inventory as XML")
def step_export_xml(context):
    pets = call(context, "GET", "/pets").json()
    doc = minidom.Document()
    root = doc.appendChild(doc.createElement("inventory"))
    for pet in pets:
        node = root.appendChild(doc.createElement("pet"))
        node.setAttribute("id", str(pet["id"]))
        node.setAttribute("species", pet.get("species", ""))
    context.xml = doc.toxml()


@then("the XML export lists every pet I added")
def step_xml_lists(context):
    doc = minidom.parseString(context.xml)
    ids = {int(n.getAttribute("id")) for n in doc.getElementsByTagName("pet")}
    assert set(context.pets_added) <= ids


@when("I compute the invoice total for {qty:d} items at {price}")
def step_invoice(context, qty, price):
    context.total = (Decimal(price) * qty).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@then("the invoice total is {total}")
def step_invoice_total(context, total):
    assert context.total == Decimal(total), context.total
