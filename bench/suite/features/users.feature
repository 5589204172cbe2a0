Feature: Customer accounts
  As the store's back office
  I register customers and keep their accounts current.

  Background:
    Given the pet store API is up

  Scenario Outline: Register <n> <segment> customers
    Given <n> customers from the "<segment>" segment
    When I register the customers
    Then every customer gets an id
    When I fetch each customer
    Then each customer has the email I sent

    Examples: Consumers
      | n | segment |
      | 1 | retail  |
      | 2 | retail  |
      | 3 | retail  |
      | 1 | vip     |
      | 2 | vip     |
      | 3 | vip     |
      | 1 | trial   |
      | 2 | trial   |
      | 3 | trial   |
      | 1 | student |
      | 2 | student |
      | 3 | student |

    Examples: Businesses
      | n | segment    |
      | 1 | wholesale  |
      | 2 | wholesale  |
      | 3 | wholesale  |
      | 1 | enterprise |
      | 2 | enterprise |
      | 3 | enterprise |
      | 1 | partner    |
      | 2 | partner    |
      | 3 | partner    |
      | 1 | staff      |
      | 2 | staff      |
      | 3 | staff      |

  Scenario Outline: A <segment> customer changes their email
    Given a registered customer from the "<segment>" segment
    When the customer changes their email
    Then the response status is 200
    When I fetch the customer
    Then the customer has the new email

    Examples:
      | segment    |
      | retail     |
      | vip        |
      | trial      |
      | student    |
      | wholesale  |
      | enterprise |
      | partner    |
      | staff      |

  Scenario Outline: A <segment> customer closes their account
    Given a registered customer from the "<segment>" segment
    When the customer closes their account
    Then the response status is 204
    When I fetch the customer
    Then the response status is 404

    Examples:
      | segment    |
      | retail     |
      | vip        |
      | trial      |
      | student    |
      | wholesale  |
      | enterprise |
      | partner    |
      | staff      |

  Scenario Outline: A <segment> customer moves house
    Given a registered customer from the "<segment>" segment
    When the customer moves to a new address
    Then the response status is 200
    When I fetch the customer
    Then the customer has the new address
    And the customer keeps their email

    Examples:
      | segment    |
      | retail     |
      | vip        |
      | trial      |
      | student    |
      | wholesale  |
      | enterprise |
      | partner    |
      | staff      |

  Scenario: Registering a customer without an email is refused
    When I register a customer without an email
    Then the response status is 422
    And the error mentions "email"

  Scenario: The customer list shows new customers
    Given 3 customers from the "retail" segment
    When I register the customers
    And I list all customers
    Then the response status is 200
    And the list contains every customer I registered
