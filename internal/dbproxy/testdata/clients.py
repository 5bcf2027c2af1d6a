# The clients script with psycopg 3 (Debian's python3-psycopg): run by
# internal/dbproxy TestClientsThroughProxy, the same steps as clients.js.
import os

import psycopg

with psycopg.connect(os.environ["PROXY"], autocommit=True) as c:
    rows = [(i, "138%08d" % i, "user %d" % i) for i in range(1, 101)]
    c.cursor().executemany("INSERT INTO customers (id, phone, name) VALUES (%s, %s, %s)", rows)
    with c.cursor().copy("COPY customers (id, phone) FROM STDIN") as cp:
        for i in range(101, 201):
            cp.write_row((i, "139%08d" % i))
    r = c.execute("SELECT id, name FROM customers WHERE phone = %s", ("13800000042",)).fetchone()
    print(r[0], r[1])
    c.execute("UPDATE customers SET phone = %s WHERE id = %s", ("13700000042", 42))
    print(c.execute("SELECT name FROM customers WHERE phone = %s", ("13700000042",)).fetchone()[0])
    print("deleted", c.execute("DELETE FROM customers WHERE name = %s", ("USER 7",)).rowcount)
    print(c.execute("SELECT phone FROM customers WHERE id = %s", (150,)).fetchone()[0])

with psycopg.connect(os.environ["SUPPORT"]) as c:
    print(c.execute("SELECT phone FROM customers WHERE id = %s", (1,)).fetchone()[0])
