// The clients script with node-postgres: run by internal/dbproxy
// TestClientsThroughProxy, the same steps as clients.py.
const { Client } = require('pg');

async function main() {
  const c = new Client({ connectionString: process.env.PROXY });
  await c.connect();
  for (let i = 1; i <= 200; i++) {
    const p = (i <= 100 ? '138' : '139') + String(i).padStart(8, '0');
    await c.query('INSERT INTO customers (id, phone, name) VALUES ($1, $2, $3)', [i, p, i <= 100 ? 'user ' + i : null]);
  }
  let r = await c.query('SELECT id, name FROM customers WHERE phone = $1', ['13800000042']);
  console.log(r.rows[0].id, r.rows[0].name);
  await c.query('UPDATE customers SET phone = $1 WHERE id = $2', ['13700000042', 42]);
  r = await c.query('SELECT name FROM customers WHERE phone = $1', ['13700000042']);
  console.log(r.rows[0].name);
  r = await c.query('DELETE FROM customers WHERE name = $1', ['USER 7']);
  console.log('deleted', r.rowCount);
  r = await c.query('SELECT phone FROM customers WHERE id = $1', [150]);
  console.log(r.rows[0].phone);
  await c.end();
  const s = new Client({ connectionString: process.env.SUPPORT });
  await s.connect();
  r = await s.query('SELECT phone FROM customers WHERE id = $1', [1]);
  console.log(r.rows[0].phone);
  await s.end();
}

main().catch((e) => { console.error(e.message); process.exit(1); });
