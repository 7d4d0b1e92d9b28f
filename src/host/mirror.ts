/**
 * The default Debian mirror comes from the host's own apt configuration, never from a name
 * written into strata: `apt-get indextargets` lists the host's repositories with the Label of
 * their Release files ("Debian", "Debian-Security").
 */
import { StrataError } from "../errors.js";
import { run } from "./run.js";

export interface Mirrors {
  mirror: string;
  security: string | undefined;
}

let cached: Promise<Mirrors> | undefined;

export function parseIndexTargets(text: string): Partial<Mirrors> {
  const found: Partial<Mirrors> = {};
  for (const line of text.split("\n")) {
    const [uri, rawLabel] = line.trim().split(/\s+/);
    const label = rawLabel?.startsWith("$(") ? undefined : rawLabel;
    if (!uri || !/^https?:\/\//.test(uri)) continue;
    const clean = uri.replace(/\/+$/, "");
    if (label === "Debian" || (!label && /\/debian$/.test(clean))) found.mirror ??= clean;
    if (label === "Debian-Security" || (!label && /\/debian-security$/.test(clean)))
      found.security ??= clean;
  }
  return found;
}

export function hostMirrors(): Promise<Mirrors> {
  cached ??= (async () => {
    // Without downloaded lists there is no Label; parseIndexTargets then goes by the URI.
    const { stdout } = await run("apt-get", ["indextargets", "--format", "$(REPO_URI) $(LABEL)"], {
      reject: false,
    });
    const found = parseIndexTargets(stdout);
    if (!found.mirror) {
      throw new StrataError("E_MIRROR", "the host's apt configuration names no Debian mirror", {
        hint: "set distro.mirror in the recipe or pass --mirror URL",
      });
    }
    return { mirror: found.mirror, security: found.security };
  })();
  return cached;
}

/**
 * The HTTP proxy the host's apt goes through (Acquire::http::Proxy, else $http_proxy), which
 * strata's mirror proxy then goes through too; undefined when apt connects directly.
 */
export async function hostHttpProxy(): Promise<string | undefined> {
  const { stdout } = await run("apt-config", ["shell", "P", "Acquire::http::Proxy"], {
    reject: false,
  });
  const configured = /P='([^']*)'/.exec(stdout)?.[1];
  const proxy = configured || process.env.http_proxy || process.env.HTTP_PROXY;
  if (!proxy || proxy === "DIRECT" || !/^http:\/\/[^\s]+$/.test(proxy)) return undefined;
  return proxy;
}
