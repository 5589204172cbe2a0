"""Pre-compute the ideal variant's test data into a JSON file (run before timing).

    python bench/suite/ideal/make_data.py OUT.json
"""

import json
import sys

from faker import Faker

POOL = 1500


def main(out: str) -> None:
    fake = Faker()
    Faker.seed(1234)
    data = {
        "pets": [
            {
                "name": fake.first_name(),
                "age": fake.random_int(0, 15),
                "tag": fake.word(),
                "price": f"{fake.pyfloat(min_value=5, max_value=900, right_digits=2):.2f}",
            }
            for _ in range(POOL)
        ],
        "customers": [
            {
                "name": fake.name(),
                "email": fake.unique.email(),
                "phone": fake.phone_number(),
                "address": fake.address().replace("\n", ", "),
            }
            for _ in range(POOL)
        ],
        "emails": [fake.unique.email() for _ in range(POOL)],
        "addresses": [fake.address().replace("\n", ", ") for _ in range(POOL)],
        "names": [f"{fake.first_name()} {i}" for i in range(POOL)],
    }
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(data, fh)


if __name__ == "__main__":
    main(sys.argv[1])
