"""Entities: the unified customer, and any identifier that resolves to one."""

from feast import Entity, ValueType

customer = Entity(
    name="customer",
    join_keys=["customer_id"],
    value_type=ValueType.STRING,
    description="A unified customer (silver.id_map's stable customer_id).",
)

identifier = Entity(
    name="identifier",
    join_keys=["identifier"],
    value_type=ValueType.STRING,
    description="A normalized identifier as 'type:value' (email:a@x.com, customer_id:cus_..).",
)
