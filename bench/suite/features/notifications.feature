Feature: Notifications and exports
  As the store's back office
  I send order confirmations, export the inventory and invoice customers.

  Background:
    Given the pet store API is up

  Scenario Outline: Order confirmation email for a <segment> customer
    Given a registered customer from the "<segment>" segment
    And a pet of species "<species>" in the store
    When the customer orders the pet with quantity 1
    And I prepare the order confirmation email
    Then the email is addressed to the customer
    And the email mentions the pet's name

    Examples:
      | segment    | species  |
      | retail     | dog      |
      | vip        | parrot   |
      | trial      | cat      |
      | student    | hamster  |
      | wholesale  | goldfish |
      | enterprise | rabbit   |
      | partner    | gecko    |
      | staff      | turtle   |

  Scenario Outline: The inventory export lists <count> new <species>s
    Given <count> pets of species "<species>" in the store
    When I export the inventory as XML
    Then the XML export lists every pet I added

    Examples:
      | count | species  |
      | 1     | dog      |
      | 2     | cat      |
      | 3     | parrot   |
      | 2     | goldfish |
      | 4     | mouse    |
      | 3     | budgie   |

  Scenario Outline: Invoice total for <qty> items at <price>
    Given a registered customer from the "<segment>" segment
    When I compute the invoice total for <qty> items at <price>
    Then the invoice total is <total>

    Examples:
      | segment    | qty | price  | total   |
      | retail     | 1   | 19.99  | 19.99   |
      | retail     | 3   | 0.10   | 0.30    |
      | wholesale  | 50  | 2.49   | 124.50  |
      | enterprise | 12  | 105.05 | 1260.60 |
      | vip        | 7   | 14.29  | 100.03  |
      | staff      | 2   | 0.01   | 0.02    |
