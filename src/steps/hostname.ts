/**
 * `hostname: NAME` writes /etc/hostname and the matching 127.0.1.1 line of /etc/hosts. NAME is
 * an RFC 1123 host name: labels of letters, digits and inner '-', joined by '.', each at most
 * 63 characters, and at most 64 in all (Linux's HOST_NAME_MAX).
 */
import { z } from "zod";
import { q } from "../host/shell.js";
import { defineStep } from "./types.js";

export const hostnameStep = defineStep({
  kind: "hostname",
  schema: z
    .string()
    .max(64, "a host name is at most 64 characters")
    .regex(
      /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/,
      "a host name: letters, digits and '-' (RFC 1123), labels joined by '.'",
    )
    .describe("The system's host name"),
  doc: "/etc/hostname and /etc/hosts",
  describe: (name) => name,
  async run(ctx, name) {
    const hosts = [
      "127.0.0.1\tlocalhost",
      `127.0.1.1\t${name}`,
      "::1\t\tlocalhost ip6-localhost ip6-loopback",
      "ff02::1\t\tip6-allnodes",
      "ff02::2\t\tip6-allrouters",
      "",
    ].join("\n");
    await ctx.sh(`printf '%s\\n' ${q(name)} > /etc/hostname\nprintf '%s' ${q(hosts)} > /etc/hosts`);
  },
});
