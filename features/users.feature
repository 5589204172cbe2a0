@users @data
Feature: Users from cached test data
  context.data generates realistic users with Faker once, then serves them from the cache:
  in later scenarios, and in the next run from the on-disk cache without calling Faker.

  Background:
    Given 5 cached users as "customers"

  Scenario: Cached users can register
    Given the cached users "customers" are registered
    Then every cached user has a unique email

  Scenario: The same cached users come back in another scenario
    Then the cached "customers" data has 5 records

  Scenario: A table of cached products
    Given the following cached products as "catalog":
      | name     | price |
      | Dog food | 20    |
      | Cat tree | 85    |
    Then the cached "catalog" data has 2 records
