/** `hostname: NAME` writes /etc/hostname and the matching 127.0.1.1 line of /etc/hosts. */
import { q, type StepHandler } from "./types.js";

export const hostnameStep: StepHandler<"hostname"> = {
  kind: "hostname",
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
};
