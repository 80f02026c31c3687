// A SCIM 2.0 target built on SCIMMY + scimmy-routers (npm): the protocol (filters, PATCH, schema
// validation, ListResponse, errors) is SCIMMY's; this file only stores resources in memory.
// Usage: node server.js TOKEN  -> prints "READY <port>", serves until killed.
// GET /_dump (no auth) returns the stored users and groups for the tests' end-state comparison.
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";
import {randomUUID} from "node:crypto";

const token = process.argv[2];
const stores = {User: new Map(), Group: new Map()};

function declare(resource, kind) {
    const store = stores[kind];
    resource
        .ingress((res, instance) => {
            const now = new Date().toISOString();
            const data = JSON.parse(JSON.stringify(instance));
            if (res.id) {
                const current = store.get(res.id);
                if (!current) throw new SCIMMY.Types.Error(404, null, `Resource ${res.id} not found`);
                const record = {...data, id: res.id, meta: {...current.meta, lastModified: now}};
                store.set(res.id, record);
                return record;
            }
            if (kind === "User" && [...store.values()].some(u => u.userName?.toLowerCase() === data.userName?.toLowerCase()))
                throw new SCIMMY.Types.Error(409, "uniqueness", `userName ${data.userName} is taken`);
            const id = randomUUID();
            const record = {...data, id, meta: {created: now, lastModified: now}};
            store.set(id, record);
            return record;
        })
        .egress((res) => {
            if (res.id) {
                const found = store.get(res.id);
                if (!found) throw new SCIMMY.Types.Error(404, null, `Resource ${res.id} not found`);
                return found;
            }
            const all = [...store.values()];
            return res.filter ? res.filter.match(all) : all;
        })
        .degress((res) => {
            if (!store.delete(res.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${res.id} not found`);
        });
    SCIMMY.Resources.declare(resource);
}

declare(SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false), "User");
declare(SCIMMY.Resources.Group, "Group");

const app = express();
app.get("/_dump", (req, res) => res.json({users: [...stores.User.values()], groups: [...stores.Group.values()]}));
app.use("/scim/v2", new SCIMMYRouters({
    type: "bearer",
    handler: (request) => {
        if (request.header("Authorization") !== `Bearer ${token}`) throw new Error("Invalid bearer token");
        return "portal";
    },
}));
const server = app.listen(0, "127.0.0.1", () => console.log(`READY ${server.address().port}`));
