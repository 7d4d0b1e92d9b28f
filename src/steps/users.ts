/**
 * `users: [{ name, uid?, groups?, shell?, home?, system?, password?, ssh_authorized_keys? }]`
 * creates users (or changes existing ones, root included). A group with the user's name, if
 * there is one, becomes the user's primary group; otherwise one is made. `password` is a crypt(3) hash as
 * `mkpasswd` prints it, never clear text; without it the account has no password to log in
 * with. `ssh_authorized_keys` become ~/.ssh/authorized_keys.
 */
import { z } from "zod";
import { q } from "../host/shell.js";
import { absolutePath, accountId, accountName } from "./fields.js";
import { defineStep } from "./types.js";

export const User = z.strictObject({
  name: accountName,
  uid: accountId.optional(),
  groups: z.array(accountName).optional(),
  shell: absolutePath.optional(),
  home: absolutePath.optional(),
  system: z.boolean().optional(),
  password: z
    .string()
    .regex(/^[^:\s]*$/, "a crypt(3) hash has no ':', spaces or newlines")
    .optional()
    .describe("A crypt(3) hash (mkpasswd), never a clear-text password; '' for no password"),
  ssh_authorized_keys: z
    .array(z.string().regex(/^[^\r\n\0]+$/, "one key per entry, on one line"))
    .optional(),
});

export const usersStep = defineStep({
  kind: "users",
  schema: z.array(User).min(1).describe("Users to create or change"),
  doc: "create or change users; `password` is a crypt(3) hash",
  describe: (users) => users.map((u) => u.name).join(" "),
  async run(ctx, users) {
    const lines: string[] = [];
    for (const u of users) {
      const common: string[] = [];
      if (u.uid !== undefined) common.push("-u", String(u.uid));
      if (u.shell) common.push("-s", q(u.shell));
      if (u.home) common.push("-d", q(u.home));
      const groups = u.groups?.length ? q(u.groups.join(",")) : undefined;
      const add = [u.system ? "-r" : "-m", ...common, ...(groups ? ["-G", groups] : [])].join(" ");
      const mod = [...common, ...(groups ? ["-a", "-G", groups] : [])].join(" ");
      // A group that already has the user's name becomes the user's primary group.
      const primary = `$(getent group ${q(u.name)} >/dev/null && echo "-g ${u.name}")`;
      lines.push(
        `if id -u ${q(u.name)} >/dev/null 2>&1; then ${mod ? `usermod ${mod} ${q(u.name)}` : ":"}; else useradd ${primary} ${add} ${q(u.name)}; fi`,
      );
      if (u.password !== undefined) lines.push(`usermod -p ${q(u.password)} ${q(u.name)}`);
      if (u.ssh_authorized_keys?.length) {
        const keys = `${u.ssh_authorized_keys.join("\n")}\n`;
        lines.push(
          `home=$(getent passwd ${q(u.name)} | cut -d: -f6)`,
          `group=$(id -gn ${q(u.name)})`,
          `install -d -m 0700 -o ${q(u.name)} -g "$group" "$home/.ssh"`,
          `printf '%s' ${q(keys)} > "$home/.ssh/authorized_keys"`,
          `chown ${q(u.name)}:"$group" "$home/.ssh/authorized_keys"`,
          `chmod 0600 "$home/.ssh/authorized_keys"`,
        );
      }
    }
    await ctx.sh(lines.join("\n"));
  },
});
